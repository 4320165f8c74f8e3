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
  await expect(other.ownFloats('like').first()).toBeAttached();
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

test('keyboard alone: like, a reaction from the picker and a comment; the empty feed invites one', async ({
  viewer,
  api,
}, testInfo) => {
  const videoId = await api.liveVideo(`Keys ${testInfo.project.name} ${Date.now()}`);
  await viewer.goto(videoId);
  await viewer.expectLoaded();
  await expect(viewer.page.getByText('Be the first to comment')).toBeVisible();
  const { page } = viewer;

  // Tab from the top of the page to Like (a bounded walk); its focus ring shows.
  await page.locator('body').focus();
  for (let i = 0; i < 40 && !(await viewer.likeButton.evaluate((el) => el === document.activeElement)); i++) {
    await page.keyboard.press('Tab');
  }
  await expect(viewer.likeButton).toBeFocused();
  expect(await viewer.likeButton.evaluate((el) => getComputedStyle(el).outlineStyle)).not.toBe('none');
  await page.keyboard.press('Enter');
  // A guest names themself first (the field has the focus), then the like counts; the focus is back on Like.
  await page.keyboard.type('Keyboard viewer');
  await page.keyboard.press('Enter');
  await expect(viewer.likeButton).toBeFocused();
  await expect.poll(() => viewer.count('Likes')).toBe(1);

  // The picker: Space on "More reactions" opens it with the focus on its first reaction; the
  // arrow keys move along it (wrapping), Enter sends, Escape closes it and gives the focus back.
  await page.keyboard.press('Tab');
  await expect(viewer.moreReactions).toBeFocused();
  await page.keyboard.press('Space');
  await expect(viewer.moreReactions).toHaveAttribute('aria-expanded', 'true');
  const reaction = (name: string) => viewer.picker.getByRole('button', { name, exact: true });
  await expect(reaction('Celebrate')).toBeFocused();
  await page.keyboard.press('ArrowLeft');
  await expect(reaction('Funny')).toBeFocused();
  await page.keyboard.press('Home');
  await page.keyboard.press('ArrowRight');
  await page.keyboard.press('ArrowRight');
  await expect(reaction('Love')).toBeFocused();
  await page.keyboard.press('Enter');
  await page.keyboard.press('Escape');
  await expect(viewer.picker).toBeHidden();
  await expect(viewer.moreReactions).toBeFocused();
  await expect.poll(() => viewer.reactionCounts()).toEqual({ Like: 1, Love: 1 });

  // On to the composer, type, and send with the keyboard.
  for (let i = 0; i < 20 && !(await viewer.composer.evaluate((el) => el === document.activeElement)); i++) {
    await page.keyboard.press('Tab');
  }
  await expect(viewer.composer).toBeFocused();
  const text = `typed with keys ${Date.now()}`;
  await page.keyboard.type(text);
  await page.keyboard.press('Tab');
  await expect(viewer.sendButton).toBeFocused();
  await page.keyboard.press('Enter');
  await expect(viewer.comments.getByText(text)).toBeVisible();
  await expect(page.getByText('Be the first to comment')).toBeHidden();
  // Counted on the server too: a newcomer's load shows them.
  await page.reload();
  await expect.poll(() => viewer.reactionCounts()).toEqual({ Like: 1, Love: 1 });
});

test('an unknown video is a 404 page, with status 404', async ({ page, request }) => {
  const direct = await request.get('/live/no-such-video-0000');
  expect(direct.status()).toBe(404);
  const response = await page.goto('/live/no-such-video-0000');
  expect(response?.status()).toBe(404);
  await expect(page.getByRole('heading', { level: 1 })).toHaveText('This page isn’t here');
  await expect(page.getByRole('link', { name: 'Browse live videos' })).toHaveAttribute('href', '/');
});
