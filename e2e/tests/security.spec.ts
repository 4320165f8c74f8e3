import { expect, test } from '../fixtures.js';

/*
 * Security in the browser: markup in a comment or a name is shown as text (never run or rendered);
 * someone else cannot reach a video's studio actions; an oversized comment shows the server's
 * error message.
 */
test('comment text and names with HTML or a script are shown as text', async ({
  viewer,
  openViewer,
  api,
}, testInfo) => {
  let alerted = false;
  viewer.page.on('dialog', (dialog) => {
    alerted = true;
    void dialog.dismiss();
  });
  const videoId = await api.liveVideo(`Security ${testInfo.project.name} ${Date.now()}`);
  await viewer.goto(videoId);
  const writer = await openViewer(videoId);
  const text = `<img src=x onerror="alert(1)"><script>alert(2)</script><b>bold</b> ${Date.now()}`;
  await writer.comment(text);
  const name = `<i>Mallory ${Date.now() % 100000}</i>`;
  await writer.signIn(name);

  await expect(viewer.comments.getByText(text)).toBeVisible();
  await expect(viewer.comments.getByText(name)).toBeVisible();
  expect(await viewer.comments.locator('img, script, b, i').count()).toBe(0);
  expect(alerted).toBe(false);
});

test('someone else sees no studio controls for a video that is not theirs', async ({ studio, page, api }, testInfo) => {
  const videoId = await api.liveVideo(`Not yours ${testInfo.project.name} ${Date.now()}`);
  await page.goto(`/studio/${videoId}`);
  await studio.signIn('Not the owner');
  await expect(page.getByText('Only the broadcaster of this video can open its studio.')).toBeVisible();
  await expect(page.getByRole('button', { name: /Go live|End live video|Delete|Ban/ })).toHaveCount(0);
});

test('an oversized comment gets the error message in the UI', async ({ viewer, api }, testInfo) => {
  const videoId = await api.liveVideo(`Long ${testInfo.project.name} ${Date.now()}`);
  await viewer.goto(videoId);
  await viewer.comment('x'.repeat(501));
  await viewer.signIn('Verbose');
  await expect(viewer.page.getByText('text must be at most 500 characters')).toBeVisible();
  await expect(viewer.comments.getByText('x'.repeat(501))).toHaveCount(0);
});
