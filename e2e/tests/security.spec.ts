import { expect, test } from '../fixtures.js';
import { ViewerPage } from '../pages/viewer-page.js';

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

test("the broadcaster's own comments carry a badge no one can claim by name; sign-out ends the session", async ({
  studio,
  openViewer,
}, testInfo) => {
  const host = `Host ${testInfo.project.name} ${Date.now() % 100000}`;
  await studio.open();
  await studio.signIn(host);
  await expect(studio.page.getByText(`Signed in as ${host}`)).toBeVisible();
  const videoId = await studio.goLive(`Badge ${testInfo.project.name} ${Date.now()}`);

  // The owner comments from the viewer page (same browser, same session): badged for everyone.
  const owner = new ViewerPage(studio.page, testInfo.project.use.hasTouch === true);
  await owner.goto(videoId);
  const said = `welcome everyone ${Date.now()}`;
  await owner.comment(said);
  const guest = await openViewer(videoId);
  const line = guest.comments.getByRole('listitem').filter({ hasText: said });
  await expect(line).toBeVisible();
  await expect(line.getByText('Broadcaster')).toBeVisible();

  // A guest taking the broadcaster's name is refused, and no badge can be claimed that way.
  const posing = `I am the host ${Date.now()}`;
  await guest.comment(posing);
  await guest.signIn(host.toUpperCase());
  await expect(guest.page.getByText(/broadcaster's name in this room/)).toBeVisible();
  await expect(guest.comments.getByText(posing)).toHaveCount(0);

  // Sign out in the studio: the gate is back and the cookie no longer names anyone.
  await studio.open();
  await studio.page.getByRole('button', { name: 'Sign out' }).click();
  await expect(studio.page.getByRole('button', { name: 'Sign in' })).toBeVisible();
  const session = await studio.page.request.get('/api/session');
  expect(await session.json()).toEqual({ user: null });
});
