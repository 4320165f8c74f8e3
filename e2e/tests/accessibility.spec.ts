import AxeBuilder from '@axe-core/playwright';
import type { Page } from '@playwright/test';
import { expect, test } from '../fixtures.js';

/*
 * Accessibility, checked by axe-core in real Chromium on every page a person uses — home, the
 * viewer, the studio and a video's dashboard — on the desktop and both phones: no serious or
 * critical violation of WCAG 2.1 A/AA (contrast, names, labels, roles, structure). And the
 * broadcaster's way from the studio to live, done with the keyboard alone.
 */

/** Serious and critical WCAG 2.1 A/AA violations on the page as it is now, one line each. */
async function violations(page: Page): Promise<string[]> {
  const results = await new AxeBuilder({ page }).withTags(['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']).analyze();
  return results.violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => `${v.id} (${v.impact}): ${v.help} — ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`);
}

test('home, viewer, studio and dashboard have no serious or critical axe violation', async ({ page, api, studio }) => {
  const videoId = await api.liveVideo(`Accessible ${Date.now()}`);
  await api.comment(videoId, 'A comment to show in the feed');

  const found: Record<string, string[]> = {};

  await page.goto('/');
  await expect(page.getByRole('link', { name: /Accessible/ }).first()).toBeVisible();
  found.home = await violations(page);

  await page.goto(`/live/${videoId}`);
  await expect(page.getByText('A comment to show in the feed')).toBeVisible();
  found.viewer = await violations(page);

  await studio.open();
  await studio.signIn('Accessible broadcaster');
  found.studio = await violations(page);

  await studio.goLive(`Dashboard ${Date.now()}`);
  await expect(studio.viewers).toBeVisible();
  found.dashboard = await violations(page);

  // All four pages' findings at once, so one run shows everything to fix.
  expect(found).toEqual({ home: [], viewer: [], studio: [], dashboard: [] });
});

test('the broadcaster creates a video and goes live with the keyboard alone', async ({ page, studio }) => {
  await studio.open();
  await studio.signIn('Keyboard broadcaster');
  const title = `Keys ${Date.now()}`;
  const titleField = page.getByLabel('Title');
  // Tab from the top of the page until the title field has the focus (a bounded walk).
  await page.locator('body').focus();
  for (let i = 0; i < 30 && !(await titleField.evaluate((el) => el === document.activeElement)); i++) {
    await page.keyboard.press('Tab');
  }
  await expect(titleField).toBeFocused();
  await page.keyboard.type(title);
  await page.keyboard.press('Enter'); // submits the form: "Create live video"
  const goLive = page.getByRole('button', { name: `Go live with ${title}` });
  await expect(goLive).toBeVisible();
  for (let i = 0; i < 30 && !(await goLive.evaluate((el) => el === document.activeElement)); i++) {
    await page.keyboard.press('Tab');
  }
  await expect(goLive).toBeFocused();
  // The focus is visible: a focus ring (outline or box shadow) that the unfocused button lacks.
  const ring = await goLive.evaluate((el) => {
    const style = getComputedStyle(el);
    return style.outlineStyle !== 'none' && style.outlineWidth !== '0px' ? 'outline' : style.boxShadow;
  });
  expect(ring).not.toBe('none');
  await page.keyboard.press('Enter');
  await expect(page.getByRole('button', { name: `End live video ${title}` })).toBeVisible();
});
