import { expect, nodeIndex, test } from '../fixtures.js';

/* The viewer page against the two-region topology. */

test('the demo video plays', async ({ viewer }) => {
  await viewer.goto('demo');
  await expect.poll(() => viewer.currentTime(), { timeout: 20_000 }).toBeGreaterThan(0.5);
  const before = await viewer.currentTime();
  await expect.poll(() => viewer.currentTime(), { timeout: 10_000 }).toBeGreaterThan(before + 0.5);
});

test('a like shows at once for its viewer and reaches a viewer on another node in another region; a comment within 1 s', async ({
  viewer,
  openViewer,
  api,
}, testInfo) => {
  const videoId = await api.liveVideo(`Viewer suite ${testInfo.project.name} ${Date.now()}`);
  // The web publishes in r1: the viewer who must receive is in r2 (each event reaches it by the
  // relay between regions), the one who acts in r1. goto/openViewer check both placements.
  await viewer.goto(videoId, nodeIndex('r2', 2));
  const other = await openViewer(videoId, nodeIndex('r1', 1));
  await viewer.expectLoaded();
  expect(await viewer.count('Likes')).toBe(0);

  await other.like();
  await other.signIn('Liker');
  await expect(other.page.locator('.heart.own').first()).toBeAttached();
  await expect.poll(() => viewer.count('Likes')).toBe(1);

  const text = `hello across regions ${testInfo.project.name} ${Date.now()}`;
  await other.comment(text);
  await expect(other.comments.getByText(text)).toBeVisible();
  await expect(viewer.comments.getByText(text)).toBeVisible({ timeout: 1000 });
  // Still where the test says they are: nothing moved them to another node on the way.
  await viewer.expectOn(nodeIndex('r2', 2));
  await other.expectOn(nodeIndex('r1', 1));
  expect(await viewer.noHorizontalScroll()).toBe(true);
  await viewer.page.screenshot({ path: testInfo.outputPath(`viewer-${testInfo.project.name}.png`) });
});

test('the viewer count rises as three viewers join and falls as they leave', async ({
  viewer,
  openViewer,
  api,
}, testInfo) => {
  const videoId = await api.liveVideo(`Count ${testInfo.project.name} ${Date.now()}`);
  await viewer.goto(videoId, nodeIndex('r1', 2));
  await expect.poll(() => viewer.count('Viewers')).toBe(1);
  // On every other node of both regions (each placement checked): the count adds up across them.
  const others = await Promise.all(
    [nodeIndex('r1', 1), nodeIndex('r2', 1), nodeIndex('r2', 2)].map((node) => openViewer(videoId, node)),
  );
  await expect.poll(() => viewer.count('Viewers')).toBe(4);
  for (const other of others) await other.close();
  await expect.poll(() => viewer.count('Viewers')).toBe(1);
});
