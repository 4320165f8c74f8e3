import { expect, nodeIndex, test } from '../fixtures.js';
import type { Watching } from '../pages/studio-page.js';

/*
 * The broadcaster's studio: create a video and go live, watch two viewers (in two regions) arrive
 * — "Watching now" always the sum of the regions shown —, delete a comment (after a
 * confirmation) and ban its author from the moderation log, end the video — and each viewer sees
 * each effect. On a phone, moderation comes first.
 */
test('the broadcaster goes live, moderates and ends; viewers see every change', async ({
  studio,
  openViewer,
  api,
}, testInfo) => {
  await studio.open();
  await studio.signIn('Broadcaster');
  const title = `Studio test ${testInfo.project.name} ${Date.now()}`;
  const videoId = await studio.goLive(title);

  // The layout: on a phone moderation comes first, above the figures, with a margin at the edges;
  // on a wide screen it is the column beside them.
  const moderation = await studio.moderation.boundingBox();
  const figures = await studio.figures.boundingBox();
  if (!moderation || !figures) throw new Error('moderation and the live figures are shown');
  if (testInfo.project.use.isMobile) {
    expect(moderation.y + moderation.height).toBeLessThanOrEqual(figures.y);
    expect(moderation.x).toBeGreaterThanOrEqual(8);
  } else {
    expect(moderation.x).toBeGreaterThanOrEqual(figures.x + figures.width);
  }

  // Two viewers, one per region (openViewer checks each is on the node named): the studio counts
  // them (its own connection is not a viewer). Whatever "Watching now" shows on the way, it is the
  // sum of the regions shown with it.
  const a = await openViewer(videoId, nodeIndex('r1', 2));
  const b = await openViewer(videoId, nodeIndex('r2', 1));
  const disagreements: Watching[] = [];
  let watching: Watching | undefined;
  await expect
    .poll(
      async () => {
        watching = await studio.watching();
        const regions = Object.values(watching.byRegion);
        if (regions.length > 0 && regions.reduce((sum, n) => sum + n, 0) !== watching.total) {
          disagreements.push(watching);
        }
        return watching.total;
      },
      { timeout: 15_000, intervals: [50] },
    )
    .toBe(2);
  expect(disagreements).toEqual([]);
  expect(watching?.byRegion).toEqual({ r1: 1, r2: 1 });

  // A comment that stays, then a viewer's that the broadcaster deletes: gone for both viewers —
  // who had it — and for a newcomer whose history has loaded (the comment that stays is there).
  const kept = `kept comment ${Date.now()}`;
  await api.comment(videoId, kept);
  const rude = `rude comment ${Date.now()}`;
  await a.comment(rude);
  await a.signIn('Rude viewer');
  await expect(a.comments.getByText(rude)).toBeVisible();
  await expect(b.comments.getByText(rude)).toBeVisible();
  // Delete asks first: Escape or Cancel changes nothing and gives focus back to Delete.
  await studio.deleteButton(rude).click();
  await expect(studio.confirmDelete).toBeVisible();
  await expect(studio.confirmDelete).toContainText(rude);
  await expect(studio.confirmDelete.getByRole('button', { name: 'Cancel' })).toBeFocused();
  await studio.page.keyboard.press('Escape');
  await expect(studio.confirmDelete).toBeHidden();
  await expect(studio.deleteButton(rude)).toBeFocused();
  await studio.deleteButton(rude).click();
  await studio.confirmDelete.getByRole('button', { name: 'Cancel' }).click();
  await expect(studio.confirmDelete).toBeHidden();
  await expect(studio.logEntry(rude)).not.toContainText('Deleted');
  await expect(a.comments.getByText(rude)).toBeVisible();
  await studio.deleteComment(rude);
  await expect(a.comments.getByText(rude)).toHaveCount(0);
  await expect(b.comments.getByText(rude)).toHaveCount(0);
  await expect(a.comments.getByText(kept)).toBeVisible();
  await expect(b.comments.getByText(kept)).toBeVisible();
  const newcomer = await openViewer(videoId);
  await newcomer.expectLoaded();
  await expect(newcomer.comments.getByText(kept)).toBeVisible();
  await expect(newcomer.comments.getByText(rude)).toHaveCount(0);

  // The viewer comments again; the broadcaster bans them from the log's entry of the DELETED
  // comment (it stays there, marked): their next comment is refused.
  const again = `still rude ${Date.now()}`;
  await expect(async () => {
    // One comment a second per user: sent again only when the server refused it (429).
    await a.comment(again);
    const refused = a.page.getByText(/Easy there/);
    await expect(a.comments.getByText(again).or(refused)).toBeVisible();
    await expect(a.comments.getByText(again)).toBeVisible({ timeout: 100 });
  }).toPass({ timeout: 10_000 });
  await expect(studio.logEntry(rude).getByRole('button', { name: 'Delete comment' })).toHaveCount(0);
  await studio.ban('Rude viewer', rude);
  await expect(studio.logEntry(again)).toContainText('Banned');
  await expect(async () => {
    await a.comment('let me back in');
    await expect(a.page.getByText('stopped you from commenting')).toBeVisible({ timeout: 1000 });
  }).toPass({ timeout: 10_000 });
  await expect(b.comments.getByText('let me back in')).toHaveCount(0);

  // The dashboard counted the comments (a deleted one too: it was made); a screenshot for the record.
  await expect(studio.page.getByRole('figure', { name: 'Comments per minute' })).toContainText(
    '3 in the last 10 minutes',
  );
  await studio.page.screenshot({
    path: testInfo.outputPath(`studio-dashboard-${testInfo.project.name}.png`),
    fullPage: true,
  });

  // The broadcaster ends the video: both viewers see it end.
  await studio.end(title);
  await expect(a.page.getByText('This live video has ended')).toBeVisible();
  await expect(b.page.getByText('This live video has ended')).toBeVisible();
  expect(await studio.page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth)).toBe(true);
});
