import { join } from 'node:path';
import type { APIRequestContext, Page, TestInfo } from '@playwright/test';
import { expect, signUpAccount, test } from '../fixtures.js';

/*
 * The pictures in the README, made by the suite on every project: the viewer (desktop and phones)
 * with a conversation and reactions under way, and the studio's dashboard of a live video. A run
 * writes them among its results; `npm run screenshots -w e2e` writes them to docs/screenshots,
 * where the README shows them.
 */

/** Where a picture goes: docs/screenshots when OVATION_SCREENSHOTS names that folder, else the test's output. */
function picture(testInfo: TestInfo, name: string): string {
  const file = `${name}-${testInfo.project.name}.png`;
  const folder = process.env.OVATION_SCREENSHOTS;
  return folder ? join(folder, file) : testInfo.outputPath(file);
}

/** A few people of the audience: each signed up through the API, commenting and reacting. */
async function audience(
  playwright: { request: { newContext(o: object): Promise<APIRequestContext> } },
  baseURL: string,
  people: readonly string[],
) {
  const contexts: APIRequestContext[] = [];
  for (const name of people) {
    const request = await playwright.request.newContext({ baseURL });
    await signUpAccount(request, new URL(baseURL).origin, name);
    contexts.push(request);
  }
  return contexts;
}

/** The video is playing: a frame is shown and time moves. */
async function playing(page: Page): Promise<void> {
  await expect
    .poll(() => page.locator('video').evaluate((v: HTMLVideoElement) => v.readyState >= 2 && v.currentTime > 0), {
      timeout: 20_000,
    })
    .toBe(true);
}

test('pictures of the viewer and the studio dashboard', async ({
  api,
  studio,
  playwright,
  baseURL,
  browser,
}, testInfo) => {
  const origin = baseURL ?? '';
  const videoId = await api.liveVideo('Launch day: building real-time video, live Q&A');
  // One comment each (a user may comment once a second).
  const people = await audience(playwright, origin, ['Maya Chen', 'Luis Ortega', 'Priya Raman', 'Sam Okafor']);
  const lines = [
    'Hello from Lisbon!',
    'How do the likes stay exact with so many viewers?',
    'The latency is impressive — under a second here.',
    'Will the recording be available afterwards?',
  ];
  for (const [i, text] of lines.entries()) {
    const request = people[i % people.length] as APIRequestContext;
    expect((await request.post(`/api/videos/${videoId}/comments`, { data: { text } })).status()).toBe(201);
  }
  const reactions = ['like', 'love', 'celebrate', 'insightful'] as const;
  for (const [i, reaction] of reactions.entries()) {
    const request = people[i % people.length] as APIRequestContext;
    const count = 12 - i * 3;
    expect((await request.post(`/api/videos/${videoId}/likes`, { data: { count, reaction } })).status()).toBe(202);
  }

  // A guest watching (a context of its own: the studio's page is the broadcaster's).
  const guest = await browser.newContext({ ...testInfo.project.use });
  const page = await guest.newPage();
  await page.goto(`/live/${videoId}`);
  await expect(page.getByText(lines[3] as string)).toBeVisible();
  await playing(page);
  // Reactions arriving while the picture is taken: they float over the video.
  for (const [i, reaction] of reactions.entries()) {
    const request = people[i % people.length] as APIRequestContext;
    await request.post(`/api/videos/${videoId}/likes`, { data: { count: 3, reaction } });
  }
  await page.screenshot({ path: picture(testInfo, 'viewer') });

  await guest.close();

  // The studio's dashboard of a live video with two viewers and the conversation going.
  await studio.open();
  await studio.signIn('Ovation Studio');
  const live = await studio.goLive('Launch day: building real-time video, live Q&A');
  const watchers = await Promise.all(
    [0, 1].map(async () => {
      const viewerContext = await browser.newContext({ ...testInfo.project.use });
      const viewerPage = await viewerContext.newPage();
      await viewerPage.goto(`/live/${live}`);
      return viewerContext;
    }),
  );
  const others = await audience(playwright, origin, ['Ana Ruiz', 'Tom Becker', 'Yuki Sato', 'Omar Haddad']);
  for (const [i, text] of lines.entries()) {
    const request = others[i] as APIRequestContext;
    expect((await request.post(`/api/videos/${live}/comments`, { data: { text } })).status()).toBe(201);
    await request.post(`/api/videos/${live}/likes`, { data: { count: 5 + i, reaction: reactions[i] } });
  }
  await expect.poll(() => studio.viewerCount(), { timeout: 15_000 }).toBe(2);
  await expect(studio.page.getByText(lines[3] as string)).toBeVisible();
  await studio.page.screenshot({ path: picture(testInfo, 'studio'), fullPage: true });

  for (const watcher of watchers) await watcher.close();
  for (const request of [...people, ...others]) await request.dispose();
});
