import { randomBytes } from 'node:crypto';
import AxeBuilder from '@axe-core/playwright';
import type { Browser, Locator, TestInfo } from '@playwright/test';
import { expect, signUpAccount, test } from '../fixtures.js';
import { ViewerPage } from '../pages/viewer-page.js';

/*
 * Presence, on the stack's short grace (stack/global-setup.ts: PRESENCE_GRACE_MS 2 s): the
 * studio's Watching panel lists a signed-in viewer while their page is open — with Ban beside
 * them — and drops them once they closed it; the viewer page's feed marks a commenter still
 * watching with an online dot, and not one who left (seen live, and by a newcomer's page).
 */

/** Joins and leaves show within the grace plus a few presence rounds and a refresh. */
const SETTLES_MS = 15_000;

/** A viewer with an account of their own (a new browser context, signed in), on the video's page. */
async function signedInViewer(
  browser: Browser,
  testInfo: TestInfo,
  origin: string,
  videoId: string,
  name: string,
): Promise<ViewerPage> {
  const context = await browser.newContext({ ...testInfo.project.use });
  await signUpAccount(context.request, origin, name);
  const viewer = new ViewerPage(await context.newPage(), testInfo.project.use.hasTouch === true);
  await viewer.goto(videoId);
  return viewer;
}

const unique = (who: string, testInfo: TestInfo) => `${who} ${testInfo.project.name} ${randomBytes(3).toString('hex')}`;

test('the studio lists a signed-in viewer while they watch, with Ban, and not after they left', async ({
  studio,
  browser,
  baseURL,
}, testInfo) => {
  const origin = new URL(baseURL ?? '').origin;
  await studio.open();
  await studio.signIn('Presence host');
  const videoId = await studio.goLive(`Presence ${testInfo.project.name} ${Date.now()}`);
  await expect(studio.watchingPanel).toContainText('No signed-in viewers right now');

  const stays = unique('Stays', testInfo);
  const leaves = unique('Leaves', testInfo);
  const first = await signedInViewer(browser, testInfo, origin, videoId, stays);
  const second = await signedInViewer(browser, testInfo, origin, videoId, leaves);
  try {
    await expect(studio.watcher(stays)).toBeVisible({ timeout: SETTLES_MS });
    await expect(studio.watcher(leaves)).toBeVisible({ timeout: SETTLES_MS });
    await expect(studio.watcher(stays)).toContainText(/joined (now|\d+ seconds? ago)/);
    await expect(studio.watchingPanel).toContainText('2 signed-in viewers');

    // Ban from the Watching list: the same ban as the moderation log's (listed under Banned users).
    await studio
      .watcher(stays)
      .getByRole('button', { name: `Ban ${stays}` })
      .click();
    await expect(studio.watcher(stays)).toContainText('Banned');
    await expect(studio.page.getByRole('list', { name: 'Banned users' }).getByText(stays)).toBeVisible();

    await second.close();
    await expect(studio.watcher(leaves)).toHaveCount(0, { timeout: SETTLES_MS });
    await expect(studio.watchingPanel).toContainText('1 signed-in viewer ');
    await expect(studio.watcher(stays)).toBeVisible();
  } finally {
    await first.close();
    await second.close();
  }
});

test('the feed shows an online dot on a comment by a viewer still watching, and not on one who left', async ({
  api,
  browser,
  baseURL,
  openViewer,
}, testInfo) => {
  const origin = new URL(baseURL ?? '').origin;
  const videoId = await api.liveVideo(`Dots ${testInfo.project.name} ${Date.now()}`);
  const stays = await signedInViewer(browser, testInfo, origin, videoId, unique('Stays', testInfo));
  const leaves = await signedInViewer(browser, testInfo, origin, videoId, unique('Leaves', testInfo));
  try {
    const kept = `still here ${Date.now()}`;
    const gone = `leaving now ${Date.now()}`;
    await stays.comment(kept);
    await leaves.comment(gone);
    const entry = (viewer: ViewerPage, text: string) => viewer.comments.getByRole('listitem').filter({ hasText: text });
    const dot = (item: Locator) => item.getByRole('img', { name: 'online', exact: true });

    // Both are here: both comments carry the dot (the page asked about its commenters).
    await expect(dot(entry(stays, kept))).toBeVisible({ timeout: SETTLES_MS });
    await expect(dot(entry(stays, gone))).toBeVisible({ timeout: SETTLES_MS });
    // The dot has its text alternative and breaks no contrast or naming rule (the chat is scanned:
    // tests/accessibility.spec.ts scans whole pages).
    const results = await new AxeBuilder({ page: stays.page })
      .include('.viewer-chat')
      .withTags(['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'])
      .analyze();
    expect(
      results.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical').map((v) => v.id),
    ).toEqual([]);

    // One leaves: the `presence` event takes their dot away, the other's stays.
    await leaves.close();
    await expect(dot(entry(stays, gone))).toHaveCount(0, { timeout: SETTLES_MS });
    await expect(dot(entry(stays, kept))).toBeVisible();

    // A newcomer's page asks afresh: a dot for the one still watching (the answer came), none for
    // the one who left (the same answer).
    const newcomer = await openViewer(videoId);
    await newcomer.expectLoaded();
    await expect(dot(entry(newcomer, kept))).toBeVisible({ timeout: SETTLES_MS });
    await expect(entry(newcomer, gone)).toBeVisible();
    await expect(dot(entry(newcomer, gone))).toHaveCount(0);
  } finally {
    await stays.close();
    await leaves.close();
  }
});

test('a guest who picks a name to comment is listed by it, and their comment carries the dot', async ({
  studio,
  openViewer,
}, testInfo) => {
  await studio.open();
  await studio.signIn('Presence host 2');
  const videoId = await studio.goLive(`Guest presence ${testInfo.project.name} ${Date.now()}`);
  // A signed-out viewer: counted as a guest until they sign in…
  const guest = await openViewer(videoId);
  await guest.expectLoaded();
  await expect(studio.watchingPanel).toContainText('1 guest', { timeout: SETTLES_MS });
  const name = unique('Gus', testInfo);
  const text = `hello from a guest ${Date.now()}`;
  await guest.comment(text);
  await guest.signIn(name);
  // …then connected again with a token naming them: the studio lists them, their comment shows the dot.
  await expect(studio.watcher(name)).toBeVisible({ timeout: SETTLES_MS });
  const entry = guest.comments.getByRole('listitem').filter({ hasText: text });
  await expect(entry.getByRole('img', { name: 'online', exact: true })).toBeVisible({ timeout: SETTLES_MS });
  await guest.close();
});
