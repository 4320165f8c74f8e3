import { type Browser, expect, type Page, type TestInfo, test } from '@playwright/test';

/*
 * The broadcaster's studio against the real stack: create a video and go live, watch two viewers
 * arrive, delete a comment and ban its author, end the video — and each viewer sees each effect.
 */

async function signIn(page: Page, name: string) {
  const dialog = page.getByRole('dialog', { name: 'Choose a display name' });
  await dialog.getByLabel('Display name').fill(name);
  await dialog.getByRole('button', { name: 'Continue' }).click();
}

async function openViewer(browser: Browser, testInfo: TestInfo, videoId: string) {
  const context = await browser.newContext({ ...testInfo.project.use });
  const page = await context.newPage();
  await page.goto(`/live/${videoId}`);
  await expect(page.getByLabel('Live video')).toBeVisible();
  return { context, page, comments: page.getByRole('list', { name: 'Comments' }) };
}

async function comment(page: Page, text: string) {
  await page.getByRole('textbox', { name: 'Add a comment' }).fill(text);
  await page.getByRole('button', { name: 'Send' }).click();
}

test('the broadcaster goes live, moderates and ends; viewers see every change', async ({ page, browser }, testInfo) => {
  page.on('dialog', (dialog) => void dialog.accept()); // "End … for every viewer?"
  await page.goto('/studio');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await signIn(page, 'Broadcaster');

  const title = `Studio test ${testInfo.project.name} ${Date.now()}`;
  await page.getByLabel('Title').fill(title);
  await page.getByRole('button', { name: 'Create live video' }).click();
  await page.getByRole('button', { name: `Go live with ${title}` }).click();
  await expect(page.getByRole('button', { name: `End live video ${title}` })).toBeVisible();
  await page.getByRole('link', { name: `Dashboard for ${title}` }).click();
  await page.waitForURL(/\/studio\/[A-Za-z0-9_-]+$/);
  await expect(page.getByRole('heading', { level: 1, name: title })).toBeVisible();
  const videoId = new URL(page.url()).pathname.split('/').pop() as string;

  // Two viewers join: the studio counts them (its own connection is not a viewer).
  const a = await openViewer(browser, testInfo, videoId);
  const b = await openViewer(browser, testInfo, videoId);
  const viewers = page.getByRole('status', { name: 'Viewers' });
  await expect.poll(async () => Number(await viewers.textContent()), { timeout: 15_000 }).toBe(2);

  // A viewer comments; the broadcaster deletes it: gone for both viewers and for a newcomer.
  const rude = `rude comment ${Date.now()}`;
  await comment(a.page, rude);
  await signIn(a.page, 'Rude viewer');
  await expect(b.comments.getByText(rude)).toBeVisible();
  await page.getByRole('button', { name: `Delete comment “${rude}”` }).click();
  await expect(a.comments.getByText(rude)).toHaveCount(0);
  await expect(b.comments.getByText(rude)).toHaveCount(0);
  const newcomer = await openViewer(browser, testInfo, videoId);
  await expect(newcomer.comments).toBeVisible();
  await expect(newcomer.comments.getByText(rude)).toHaveCount(0);
  await newcomer.context.close();

  // The viewer comments again; the broadcaster bans them: their next comment is refused.
  const again = `still rude ${Date.now()}`;
  await expect(async () => {
    await comment(a.page, again); // one comment a second per user: retried until accepted
    await expect(a.comments.getByText(again)).toBeVisible({ timeout: 1000 });
  }).toPass({ timeout: 10_000 });
  await page.getByRole('button', { name: 'Ban Rude viewer' }).click();
  await expect(page.getByRole('list', { name: 'Banned users' }).getByText('Rude viewer')).toBeVisible();
  await expect(async () => {
    await comment(a.page, 'let me back in');
    await expect(a.page.getByText('stopped you from commenting')).toBeVisible({ timeout: 1000 });
  }).toPass({ timeout: 10_000 });
  await expect(b.comments.getByText('let me back in')).toHaveCount(0);

  // The dashboard counted the comments; a screenshot for the record.
  await expect(page.getByRole('figure', { name: 'Comments per minute' })).toContainText('2 in the last 10 minutes');
  await page.screenshot({ path: testInfo.outputPath(`studio-dashboard-${testInfo.project.name}.png`), fullPage: true });

  // The broadcaster ends the video: both viewers see it end.
  await page.getByRole('button', { name: `End live video ${title}` }).click();
  await expect(a.page.getByText('This live video has ended')).toBeVisible();
  await expect(b.page.getByText('This live video has ended')).toBeVisible();
  expect(await page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth)).toBe(true);
  await a.context.close();
  await b.context.close();
});

test('someone else sees no studio controls for a video that is not theirs', async ({ page }) => {
  await page.goto('/studio/demo');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await signIn(page, 'Not the owner');
  await expect(page.getByText('Only the broadcaster of this video can open its studio.')).toBeVisible();
  await expect(page.getByRole('button', { name: /Go live|End live video|Delete|Ban/ })).toHaveCount(0);
});
