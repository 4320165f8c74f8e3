import { expect, test } from '../fixtures.js';

/* Phones (touch): the viewer flow at phone size, and the composer when the keyboard takes half the screen. */

test('the viewer flow works with touch at phone size, without horizontal scroll', async ({ viewer, api }, testInfo) => {
  const videoId = await api.liveVideo(`Phone ${testInfo.project.name} ${Date.now()}`);
  await viewer.goto(videoId);
  await viewer.like();
  await viewer.signIn('Thumb');
  await expect.poll(() => viewer.count('Likes')).toBeGreaterThanOrEqual(1);
  const text = `from a phone ${Date.now()}`;
  await viewer.comment(text);
  await expect(viewer.comments.getByText(text)).toBeVisible();
  expect(await viewer.noHorizontalScroll()).toBe(true);
});

test('the composer stays usable when the on-screen keyboard takes half the height', async ({
  viewer,
  api,
}, testInfo) => {
  const videoId = await api.liveVideo(`Keyboard ${testInfo.project.name} ${Date.now()}`);
  await viewer.goto(videoId);
  const size = viewer.page.viewportSize() ?? { width: 390, height: 800 };
  await viewer.page.setViewportSize({ width: size.width, height: Math.round(size.height / 2) });
  await expect(viewer.composer).toBeInViewport();
  await expect(viewer.sendButton).toBeInViewport();
  const text = `typed over the keyboard ${Date.now()}`;
  await viewer.comment(text);
  await viewer.signIn('Typist');
  await expect(viewer.comments.getByText(text)).toBeVisible();
  expect(await viewer.noHorizontalScroll()).toBe(true);
});
