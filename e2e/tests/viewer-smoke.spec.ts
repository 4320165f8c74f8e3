import { expect, test } from '@playwright/test';

/*
 * Smoke test of the viewer against the real stack: the demo video plays, and a like and a comment
 * from a second browser context appear in the first.
 */
test("the demo plays, and another viewer's like and comment appear live", async ({ page, browser }, testInfo) => {
  await page.goto('/live/demo');
  const video = page.getByLabel('Live video');
  await expect(video).toBeVisible();

  // currentTime advances: the live HLS stream is playing.
  const time = () => video.evaluate((v: HTMLVideoElement) => v.currentTime);
  await expect.poll(time, { timeout: 20_000 }).toBeGreaterThan(0.5);
  const before = await time();
  await expect.poll(time, { timeout: 10_000 }).toBeGreaterThan(before + 0.5);

  const likes = page.getByRole('status', { name: 'Likes' });
  const likeCount = async () => Number((await likes.textContent())?.match(/\d+/)?.[0] ?? -1);
  const likesBefore = await likeCount();

  // A second viewer, signed out: asked for a name, then likes and comments.
  const other = await browser.newContext({ ...testInfo.project.use });
  const second = await other.newPage();
  await second.goto('/live/demo');
  const likeButton = second.getByRole('button', { name: 'Like' });
  // Phones tap (touch events); desktops click.
  if (testInfo.project.use.hasTouch) await likeButton.tap();
  else await likeButton.click();
  await second.getByRole('dialog', { name: 'Choose a display name' }).getByLabel('Display name').fill('Second viewer');
  await second.getByRole('button', { name: 'Continue' }).click();
  await expect.poll(likeCount).toBeGreaterThan(likesBefore);

  const text = `hello from the second viewer ${testInfo.project.name} ${Date.now()}`;
  await second.getByRole('textbox', { name: 'Add a comment' }).fill(text);
  await second.getByRole('button', { name: 'Send' }).click();
  await expect(page.getByRole('list', { name: 'Comments' }).getByText(text)).toBeVisible();

  // Both viewers are counted.
  await expect
    .poll(async () =>
      Number((await page.getByRole('status', { name: 'Viewers' }).textContent())?.match(/\d+/)?.[0] ?? 0),
    )
    .toBeGreaterThanOrEqual(2);

  // No horizontal scrolling at any width.
  expect(await page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth)).toBe(true);

  await page.screenshot({ path: testInfo.outputPath(`viewer-${testInfo.project.name}.png`) });
  await other.close();
});
