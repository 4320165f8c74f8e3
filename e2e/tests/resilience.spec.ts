import { control, expect, nodeIndex, test, topology } from '../fixtures.js';

/*
 * The realtime node serving a viewer is killed mid-stream: the page reconnects by itself (to
 * another node) and shows the comments posted during the gap, each exactly once.
 */
test('a viewer whose node dies reconnects and gets the comments of the gap exactly once', async ({
  viewer,
  api,
}, testInfo) => {
  const videoId = await api.liveVideo(`Resilience ${testInfo.project.name} ${Date.now()}`);
  await viewer.goto(videoId, nodeIndex('r1', 1));
  const doomed = topology.realtimeUrls[nodeIndex('r1', 1)];
  await expect.poll(() => viewer.connection()).toBe(`open ${doomed}`);
  const stamp = Date.now();
  await api.comment(videoId, `before ${stamp}`);
  await expect(viewer.comments.getByText(`before ${stamp}`)).toBeVisible();

  await control('kill', 'realtime-r1-1');
  try {
    const during = [1, 2, 3].map((n) => `during ${n} ${stamp}`);
    for (const text of during) {
      await expect(async () => api.comment(videoId, text)).toPass({ timeout: 5000 }); // 1 comment/s per user
    }
    for (const text of [...during, `before ${stamp}`]) {
      await expect(viewer.comments.getByText(text, { exact: true })).toHaveCount(1, { timeout: 15_000 });
    }
    // It got them by moving: open again, on another node.
    const now = await viewer.connection();
    expect(now.startsWith('open ')).toBe(true);
    expect(now).not.toBe(`open ${doomed}`);
  } finally {
    await control('restart', 'realtime-r1-1');
  }
});
