import { defineConfig, devices } from '@playwright/test';

/*
 * Real Chromium (Debian's /usr/bin/chromium; nothing is downloaded) against the real topology that
 * stack/global-setup.ts starts: two regions, each with its own Redis, 2 dispatchers and 2 realtime
 * nodes, and the web app. Projects: desktop, two phones with touch (Pixel- and iPhone-sized, both
 * emulated in Chromium) and the product API without a browser.
 */
const chromium = {
  executablePath: '/usr/bin/chromium',
  args: [
    '--no-sandbox',
    '--disable-gpu',
    '--disable-quic',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
    '--autoplay-policy=no-user-gesture-required',
  ],
};

/**
 * Suites the phone projects skip: the same Chromium, nothing about phones, minutes of CI
 * (presence's panels on a phone are in the accessibility scans of the same pages).
 */
const DESKTOP_ONLY = ['shared-connection.spec.ts', 'presence.spec.ts'];
/** The README's pictures are of the desktop and one phone (tests/screenshots.spec.ts). */
const PICTURES = 'screenshots.spec.ts';

export default defineConfig({
  globalSetup: './stack/global-setup.ts',
  forbidOnly: true, // a focused test never lands, on CI or anywhere
  retries: 0,
  workers: 1,
  timeout: 60_000,
  expect: { timeout: 10_000 },
  reporter: [['list'], ['json', { outputFile: '../.test-results/playwright.json' }]],
  outputDir: './test-results',
  use: {
    baseURL: process.env.OVATION_WEB_URL,
    trace: 'retain-on-failure',
    screenshot: 'only-on-failure',
    launchOptions: chromium,
  },
  projects: [
    {
      name: 'desktop',
      testDir: './tests',
      testIgnore: 'mobile.spec.ts', // the phone-only suite
      use: { ...devices['Desktop Chrome'], launchOptions: chromium },
    },
    {
      name: 'mobile',
      testDir: './tests',
      testIgnore: DESKTOP_ONLY,
      use: { ...devices['Pixel 7'], launchOptions: chromium },
    },
    {
      name: 'iphone',
      testDir: './tests',
      // iPhone-sized, touch, its user agent — rendered by Chromium (WebKit is not installed here).
      testIgnore: [...DESKTOP_ONLY, PICTURES],
      use: { ...devices['iPhone 13'], browserName: 'chromium', launchOptions: chromium },
    },
    { name: 'api', testDir: './api' },
  ],
});
