import type { Locator } from '@playwright/test';
import { expect, test } from '../fixtures.js';

/*
 * Phones (touch): the viewer flow at phone size; the picture fills the width at its own aspect
 * ratio with the comments over its lower part; the composer when the keyboard takes the lower
 * half of the screen; landscape.
 */

async function box(locator: Locator) {
  const found = await locator.boundingBox();
  if (!found) throw new Error(`${locator} has no box`);
  return found;
}

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

test('the picture fills the width without tall black bars, the comments over its lower part; landscape too', async ({
  viewer,
  api,
}, testInfo) => {
  const videoId = await api.liveVideo(`Geometry ${testInfo.project.name} ${Date.now()}`);
  await viewer.goto(videoId);
  await expect
    .poll(() => viewer.video.evaluate((v: HTMLVideoElement) => v.videoWidth), { timeout: 20_000 })
    .toBeGreaterThan(0);
  const [width, height] = await viewer.video.evaluate((v: HTMLVideoElement) => [v.videoWidth, v.videoHeight]);
  const size = viewer.page.viewportSize() ?? { width: 390, height: 800 };
  const video = await box(viewer.video);
  expect(video.width).toBeGreaterThanOrEqual(size.width - 1);
  // As tall as the picture at that width (within 15%): no black bars above and below it.
  await expect
    .poll(async () => (await box(viewer.video)).height / ((size.width * height) / width))
    .toBeGreaterThan(0.85);
  expect((await box(viewer.video)).height / ((size.width * height) / width)).toBeLessThan(1.15);
  // The comments' area starts over the lower part of the picture.
  const chat = await box(viewer.page.getByRole('region', { name: 'Live chat' }));
  expect(chat.y).toBeLessThan(video.y + video.height);
  expect(chat.y).toBeGreaterThan(video.y + video.height / 2);
  await expect(viewer.page.getByRole('heading', { level: 1 })).toBeInViewport();
  await expect(viewer.composer).toBeInViewport();
  expect(await viewer.noHorizontalScroll()).toBe(true);

  // Turned sideways: the picture, the composer and Like all in view, nothing scrolls sideways.
  await viewer.page.setViewportSize({ width: size.height, height: size.width });
  await expect(viewer.video).toBeInViewport();
  await expect(viewer.composer).toBeInViewport();
  await expect(viewer.likeButton).toBeInViewport();
  expect(await viewer.noHorizontalScroll()).toBe(true);
});

test('the composer stays usable when the on-screen keyboard takes the lower 45% of the screen', async ({
  viewer,
  api,
}, testInfo) => {
  const videoId = await api.liveVideo(`Keyboard ${testInfo.project.name} ${Date.now()}`);
  await viewer.goto(videoId);
  const size = viewer.page.viewportSize() ?? { width: 390, height: 800 };
  await viewer.page.setViewportSize({ width: size.width, height: Math.round(size.height * 0.55) });
  await expect(viewer.composer).toBeInViewport({ ratio: 1 });
  await expect(viewer.sendButton).toBeInViewport({ ratio: 1 });
  await expect(viewer.likeButton).toBeInViewport({ ratio: 1 });
  const text = `typed over the keyboard ${Date.now()}`;
  await viewer.comment(text);
  await viewer.signIn('Typist');
  await expect(viewer.comments.getByText(text)).toBeVisible();
  await expect(viewer.composer).toBeInViewport({ ratio: 1 });
  expect(await viewer.noHorizontalScroll()).toBe(true);
});
