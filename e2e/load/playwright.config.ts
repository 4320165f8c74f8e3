import { defineConfig } from '@playwright/test';
import base from '../playwright.config.js';

/*
 * `npm run studio-under-load -w e2e`: not part of `npm test`. Drives simulated viewers and likes at
 * a live video and screenshots its studio dashboard (load/studio-under-load.spec.ts).
 */
export default defineConfig({
  ...base,
  testDir: '.',
  globalSetup: '../stack/global-setup.ts',
  timeout: 180_000,
  reporter: [['list']],
  outputDir: '../test-results/load',
  projects: [{ name: 'desktop', use: { ...base.projects?.[0]?.use, viewport: { width: 1280, height: 900 } } }],
});
