import { type ChildProcess, spawn } from 'node:child_process';
import { expect, signUpAccount, test, topology } from '../fixtures.js';

/*
 * The home page, as a visitor finds it: live videos first — each with its picture, how many watch
 * it and who broadcasts it — then the ended ones in a section of their own. A video pushed from an
 * encoder shows the ingest's poster (a recent frame); others, a placeholder with the title's
 * initial. Seeded through the product API: two broadcasters, one live (an encoder pushing, one
 * viewer), one ended.
 */
test('home lists live videos first, with poster, viewers and broadcaster, and the ended ones apart', async ({
  page,
  api,
  playwright,
  baseURL,
  openViewer,
}, testInfo) => {
  expect(topology.rtmpUrl, 'the e2e stack runs the ingest where ffmpeg is installed').toBeDefined();
  const stamp = `${testInfo.project.name} ${Date.now()}`;
  const liveTitle = `Home live ${stamp}`;
  const endedTitle = `Home ended ${stamp}`;

  // Broadcaster one ("Seeder", the api fixture) is live and pushes from an encoder.
  const liveId = await api.liveVideo(liveTitle);
  const ingest = await api.request.get(`/api/videos/${liveId}/ingest`);
  expect(ingest.status()).toBe(200);
  const { streamKey } = (await ingest.json()) as { streamKey: string };
  const pushing = push(`${topology.rtmpUrl}/${streamKey}`, 40);

  // Broadcaster two went live and ended.
  const other = await playwright.request.newContext({ baseURL });
  try {
    await signUpAccount(other, new URL(baseURL ?? '').origin, 'Home Host Two');
    const created = await other.post('/api/videos', { data: { title: endedTitle } });
    expect(created.status()).toBe(201);
    const { video } = (await created.json()) as { video: { id: string } };
    expect((await other.post(`/api/videos/${video.id}/start`)).status()).toBe(200);
    expect((await other.post(`/api/videos/${video.id}/end`)).status()).toBe(200);
  } finally {
    await other.dispose();
  }

  try {
    await openViewer(liveId);
    await page.goto('/');
    const liveList = page.getByRole('list', { name: 'Live now' });
    const endedList = page.getByRole('list', { name: 'Ended' });
    await expect(page.getByRole('main').getByRole('heading', { level: 2 })).toHaveText(['Live now', 'Ended']);

    const liveCard = liveList.getByRole('article', { name: liveTitle });
    await expect(liveCard.getByRole('link', { name: liveTitle })).toHaveAttribute('href', `/live/${liveId}`);
    await expect(liveCard).toContainText('Seeder');
    // The list refreshes every 5 s: the viewer who just arrived is counted within two rounds.
    await expect(liveCard).toContainText('1 watching', { timeout: 12_000 });
    await expect(endedList.getByRole('article', { name: liveTitle })).toHaveCount(0);

    const endedCard = endedList.getByRole('article', { name: endedTitle });
    await expect(endedCard).toContainText('Home Host Two');
    await expect(endedCard).toContainText('Ended');
    await expect(liveList.getByRole('article', { name: endedTitle })).toHaveCount(0);

    // The encoder's poster: a 320 px frame. (Decorative, so out of the accessibility tree: found
    // as the card's image.) The demo has no poster: its placeholder shows the title's initial.
    const poster = liveCard.locator('img');
    await expect
      .poll(() => poster.evaluate((img: HTMLImageElement) => img.naturalWidth).catch(() => 0), { timeout: 20_000 })
      .toBe(320);
    const demo = liveList.getByRole('article', { name: /Ovation demo/ });
    await expect(demo).toContainText('Ovation');
    await expect(demo.locator('img')).toHaveCount(0);
    await expect(demo.getByText('O', { exact: true })).toBeAttached();

    // On a phone the cards fill the width, inside the page's margin, without sideways scrolling.
    expect(await page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth)).toBe(true);
    await page.screenshot({ path: testInfo.outputPath(`home-${testInfo.project.name}.png`), fullPage: true });
  } finally {
    pushing.kill('SIGKILL');
  }
});

/** ffmpeg pushing a test picture to `url` in real time for at most `seconds`. */
function push(url: string, seconds: number): ChildProcess {
  return spawn(
    'ffmpeg',
    [
      ...['-hide_banner', '-loglevel', 'error', '-re'],
      ...['-f', 'lavfi', '-i', 'testsrc2=size=426x240:rate=30'],
      ...['-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=48000'],
      ...['-t', String(seconds)],
      ...['-c:v', 'libx264', '-preset', 'veryfast', '-tune', 'zerolatency', '-pix_fmt', 'yuv420p'],
      ...['-g', '30', '-keyint_min', '30', '-sc_threshold', '0', '-c:a', 'aac', '-b:a', '64k', '-f', 'flv', url],
    ],
    { stdio: 'ignore' },
  );
}
