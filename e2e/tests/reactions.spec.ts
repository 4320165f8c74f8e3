import { expect, test } from '../fixtures.js';

/*
 * Reactions besides Like: chosen from the picker (a long press on Like on touch screens, "More
 * reactions" elsewhere), shown at once to the one who reacts, counted per reaction for everyone,
 * and a burst from others drawn with fewer icons than likes.
 */
test('reactions from the picker reach another viewer counted per reaction; a burst floats with fewer icons', async ({
  viewer,
  openViewer,
  api,
}, testInfo) => {
  const videoId = await api.liveVideo(`Reactions ${testInfo.project.name} ${Date.now()}`);
  await viewer.goto(videoId);
  const other = await openViewer(videoId);
  await viewer.expectLoaded();
  await other.expectLoaded();
  await expect.poll(() => other.connection()).toMatch(/^open /);
  const floatsOfOther = await other.watchFloats();

  await viewer.react('Love');
  await viewer.signIn('Reactor');
  // Its icon floats at once, before any answer from the server.
  await expect(viewer.ownFloats('love').first()).toBeAttached();
  await viewer.react('Love');
  await viewer.react('Love');
  // Without motion: the icon fades in place instead of floating up.
  await viewer.page.emulateMedia({ reducedMotion: 'reduce' });
  await viewer.react('Celebrate');
  await expect(viewer.ownFloats('celebrate').first()).toHaveCSS('animation-name', 'viewer-fade');
  await expect.poll(() => viewer.reactionCounts()).toEqual({ Love: 3, Celebrate: 1 });

  // The other viewer: the same counts per reaction, the total, and both reactions floated by.
  await expect.poll(() => other.reactionCounts()).toEqual({ Love: 3, Celebrate: 1 });
  expect(await other.count('Likes')).toBe(4);
  await expect.poll(async () => (await floatsOfOther()).reactions).toEqual(['celebrate', 'love']);
  await expect(other.reactionSummary.locator('svg[data-reaction]')).toHaveCount(2);

  // A burst of 20 from someone else: it keeps floating for a moment, in fewer than 20 icons.
  const burst = await other.watchFloats();
  const sent = await api.request.post(`/api/videos/${videoId}/likes`, { data: { count: 20, reaction: 'funny' } });
  expect(sent.status(), await sent.text()).toBe(202);
  await expect.poll(() => other.count('Likes')).toBe(24);
  await expect.poll(async () => (await burst()).added).toBeGreaterThan(0);
  await expect.poll(async () => (await burst()).now, { timeout: 15_000 }).toBe(0);
  const drawn = await burst();
  expect(drawn.reactions).toEqual(['funny']);
  expect(drawn.added).toBeGreaterThanOrEqual(3);
  expect(drawn.added).toBeLessThan(20);
  expect(drawn.most).toBeLessThanOrEqual(30);
});
