import { request as httpRequest } from 'node:http';
import { fileURLToPath } from 'node:url';
import { expect, test } from '@playwright/test';
import { StudioPage } from '../pages/studio-page.js';
import { ViewerPage } from '../pages/viewer-page.js';

/*
 * The studio dashboard under load: 200 simulated viewers (SSE connections held by this process,
 * spread over the nodes of both regions) and 50 likes/s from 10 signed-in users through the
 * product API (each with its own reaction), plus a comment every second,
 * for LOAD_SECONDS; then a screenshot of the dashboard at SCREENSHOT. A real viewer page watches
 * too: its floating reactions must look alive (icons on screen in most half-second samples) and
 * never flooded (at most 30 at once), and its totals must end exact; its screenshot: VIEWER_SHOT.
 */
const VIEWERS = 200;
const LIKES_PER_SECOND = 50;
const LIKERS = 10;
const LOAD_SECONDS = Number(process.env.LOAD_SECONDS ?? 45);
const SCREENSHOT = fileURLToPath(new URL('../test-results/load/studio-dashboard-under-load.png', import.meta.url));
const VIEWER_SHOT = fileURLToPath(new URL('../test-results/load/viewer-under-load.png', import.meta.url));
const REACTIONS = ['like', 'love', 'celebrate', 'support', 'insightful', 'funny'] as const;

/** Opens `count` SSE viewers of a topic over the nodes (both regions); returns how many got `connected` and a closer. */
function openViewers(realtimeUrls: readonly string[], topic: string, count: number) {
  let connected = 0;
  const requests = Array.from({ length: count }, (_, i) => {
    const req = httpRequest(
      `${realtimeUrls[i % realtimeUrls.length]}/connect?topics=${topic}`,
      { agent: false },
      (res) => {
        res.setEncoding('utf8');
        let seen = false;
        res.on('data', (chunk: string) => {
          if (!seen && chunk.includes('event: connected')) {
            seen = true;
            connected++;
          }
        });
      },
    );
    req.on('error', () => {});
    req.end();
    return req;
  });
  return {
    connected: () => connected,
    close: () => {
      for (const r of requests) r.destroy();
    },
  };
}

test('the studio dashboard under 200 viewers and 50 likes/s', async ({ page, playwright, baseURL, browser }) => {
  const { realtimeUrls } = JSON.parse(process.env.OVATION_TOPOLOGY ?? '{}') as { realtimeUrls: string[] };
  const studio = new StudioPage(page);
  await studio.open();
  await studio.signIn('Broadcaster');
  const title = 'Launch night — live';
  await page.getByLabel('Title').fill(title);
  await page.getByRole('button', { name: 'Create live video' }).click();
  await page.getByRole('button', { name: `Go live with ${title}` }).click();
  await page
    .getByRole('link', { name: `Dashboard for ${title}` })
    .first()
    .click();
  await page.waitForURL(/\/studio\/[A-Za-z0-9_-]+$/);
  const videoId = new URL(page.url()).pathname.split('/').pop() as string;

  const viewers = openViewers(realtimeUrls, `video:${videoId}`, VIEWERS);
  await expect.poll(viewers.connected, { timeout: 30_000 }).toBe(VIEWERS);
  // One real viewer page (counted too): its floating reactions sampled every half second.
  const watcherContext = await browser.newContext({ viewport: { width: 1280, height: 720 } });
  const watcher = new ViewerPage(await watcherContext.newPage(), false);
  await watcher.goto(videoId);
  await watcher.expectLoaded();
  const floats = await watcher.watchFloats();
  await watcher.page.getByTestId('floating-reactions').evaluate((layer) => {
    const samples: number[] = [];
    (window as unknown as { __samples: number[] }).__samples = samples;
    setInterval(() => samples.push(layer.childElementCount), 500);
  });

  // Likers: API clients with their own session cookie, each at LIKES_PER_SECOND / LIKERS.
  const likers = await Promise.all(
    Array.from({ length: LIKERS }, async (_, i) => {
      const api = await playwright.request.newContext({ baseURL });
      expect((await api.post('/api/session', { data: { name: `Fan ${i + 1}` } })).ok()).toBe(true);
      return api;
    }),
  );
  const end = Date.now() + LOAD_SECONDS * 1000;
  let likes = 0;
  let comments = 0;
  const likeLoops = likers.map(async (api) => {
    const every = (1000 * LIKERS) / LIKES_PER_SECOND;
    for (let next = Date.now(); Date.now() < end; next += every) {
      await new Promise((resolve) => setTimeout(resolve, Math.max(0, next - Date.now())));
      const reaction = REACTIONS[likers.indexOf(api) % REACTIONS.length];
      if ((await api.post(`/api/videos/${videoId}/likes`, { data: { count: 1, reaction } })).status() === 202) likes++;
    }
  });
  const commentLoop = (async () => {
    for (let n = 0; Date.now() < end; n++) {
      const api = likers[n % LIKERS];
      const text = ['What a show!', 'Hello from Lisbon', 'Amazing', 'Turn it up', 'First time here'][n % 5];
      if ((await api?.post(`/api/videos/${videoId}/comments`, { data: { text } }))?.status() === 201) comments++;
      await new Promise((resolve) => setTimeout(resolve, 1100));
    }
  })();
  await Promise.all([...likeLoops, commentLoop]);

  const samples = await watcher.page.evaluate(() => (window as unknown as { __samples: number[] }).__samples);
  const seen = await floats();
  await watcher.page.screenshot({ path: VIEWER_SHOT });
  const alive = samples.filter((n) => n > 0).length / Math.max(1, samples.length);
  console.log(
    `viewer under load: ${seen.added} icons floated, at most ${seen.most} at once, ` +
      `icons on screen in ${(alive * 100).toFixed(0)} % of ${samples.length} half-second samples; screenshot ${VIEWER_SHOT}`,
  );
  expect(seen.most).toBeLessThanOrEqual(30);
  expect(alive).toBeGreaterThan(0.8);
  await expect.poll(() => watcher.count('Likes'), { timeout: 15_000 }).toBe(likes);
  await watcherContext.close();

  await expect
    .poll(async () => Number(await page.getByRole('status', { name: 'Viewers' }).textContent()), { timeout: 15_000 })
    .toBe(VIEWERS);
  await expect
    .poll(async () => Number(await page.getByRole('status', { name: 'Likes' }).textContent()), { timeout: 15_000 })
    .toBe(likes);
  await page.screenshot({ path: SCREENSHOT, fullPage: true });
  console.log(
    `studio under load: ${VIEWERS} viewers, ${likes} likes (${(likes / LOAD_SECONDS).toFixed(1)}/s), ` +
      `${comments} comments in ${LOAD_SECONDS} s; screenshot ${SCREENSHOT}`,
  );
  viewers.close();
  await Promise.all(likers.map((api) => api.dispose()));
});
