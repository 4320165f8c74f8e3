import { expect, test } from '@playwright/test';

/*
 * Security basics in the browser: markup in a comment is shown as text (never run or rendered),
 * and an oversized comment gets the server's error message in the UI.
 */
test('comment text with HTML or a script is shown as text', async ({ page, browser }, testInfo) => {
  let alerted = false;
  page.on('dialog', (dialog) => {
    alerted = true;
    void dialog.dismiss();
  });
  await page.goto('/live/demo');
  const other = await browser.newContext({ ...testInfo.project.use });
  const writer = await other.newPage();
  await writer.goto('/live/demo');
  const text = `<img src=x onerror="alert(1)"><script>alert(2)</script><b>bold</b> ${Date.now()}`;
  await writer.getByRole('textbox', { name: 'Add a comment' }).fill(text);
  await writer.getByRole('button', { name: 'Send' }).click();
  const dialog = writer.getByRole('dialog', { name: 'Choose a display name' });
  const name = `<i>Mallory ${Date.now() % 100000}</i>`;
  await dialog.getByLabel('Display name').fill(name);
  await dialog.getByRole('button', { name: 'Continue' }).click();

  const feed = page.getByRole('list', { name: 'Comments' });
  await expect(feed.getByText(text, { exact: false })).toBeVisible();
  await expect(feed.getByText(name)).toBeVisible();
  expect(await feed.locator('img, script, b, i').count()).toBe(0);
  expect(alerted).toBe(false);
  await other.close();
});

test('an oversized comment gets the error message in the UI', async ({ page }) => {
  await page.goto('/live/demo');
  await page.getByRole('textbox', { name: 'Add a comment' }).fill('x'.repeat(501));
  await page.getByRole('button', { name: 'Send' }).click();
  const dialog = page.getByRole('dialog', { name: 'Choose a display name' });
  await dialog.getByLabel('Display name').fill('Verbose');
  await dialog.getByRole('button', { name: 'Continue' }).click();
  await expect(page.getByText('text must be at most 500 characters')).toBeVisible();
  await expect(page.getByRole('list', { name: 'Comments' }).getByText('x'.repeat(501))).toHaveCount(0);
});
