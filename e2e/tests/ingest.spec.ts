import { type ChildProcess, spawn } from 'node:child_process';
import { expect, test, topology } from '../fixtures.js';

/*
 * Going live from an encoder: ffmpeg pushes a generated stream (testsrc2 with a magenta square,
 * and a sine tone; H.264 + AAC) over RTMP with the video's stream key, as OBS would. The video
 * turns live, a viewer in Chromium plays the pushed picture, the studio shows the encoder's health;
 * a wrong key is refused; killing the encoder shows "Stream interrupted" to the viewer; ending the
 * video ends it. The glass-to-glass delay (now minus the wall-clock time of the frame on screen,
 * from the playlist's PROGRAM-DATE-TIME) is measured and kept as an annotation.
 */

/** The encoder's longest push; the test kills it once everything was seen (the 15 s or so). */
const SECONDS = 60;

/** ffmpeg pushing the test stream to `url` in real time (-re) for `seconds`. */
function encoder(
  url: string,
  seconds: number,
): { child: ChildProcess; exit: Promise<number | null>; stderr: () => string } {
  const child = spawn(
    'ffmpeg',
    [
      ...['-hide_banner', '-loglevel', 'error', '-re'],
      ...['-f', 'lavfi', '-i', 'testsrc2=size=426x240:rate=30'],
      ...['-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=48000'],
      ...['-t', String(seconds)],
      // A magenta square the viewer's picture is checked for (the demo stream has none).
      ...['-vf', 'drawbox=x=20:y=20:w=80:h=80:color=0xFF00FF:t=fill'],
      ...['-c:v', 'libx264', '-preset', 'veryfast', '-tune', 'zerolatency', '-profile:v', 'baseline'],
      ...['-pix_fmt', 'yuv420p', '-g', '30', '-keyint_min', '30', '-sc_threshold', '0'],
      ...['-c:a', 'aac', '-b:a', '64k', '-f', 'flv', url],
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-4_000);
  });
  const exit = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, exit, stderr: () => stderr };
}

test('an encoder pushes RTMP with the stream key: live for viewers, health in the studio, interrupted when it drops', async ({
  studio,
  openViewer,
}, testInfo) => {
  expect(
    topology.rtmpUrl,
    'the e2e stack runs the ingest where ffmpeg is installed (.ci/run installs it)',
  ).toBeDefined();
  test.setTimeout(120_000);
  const title = `Encoder ${testInfo.project.name} ${Date.now()}`;

  // A broadcaster account creates a video (upcoming) and opens its studio.
  await studio.open();
  await studio.signIn(`Encoder ${testInfo.project.name}`);
  await studio.page.getByLabel('Title').fill(title);
  await studio.page.getByRole('button', { name: 'Create live video' }).click();
  await studio.page.getByRole('link', { name: `Dashboard for ${title}` }).click();
  await studio.page.waitForURL(/\/studio\/[A-Za-z0-9_-]+$/);
  const videoId = new URL(studio.page.url()).pathname.split('/').pop() as string;
  const encoderPanel = studio.page.getByRole('region', { name: 'Encoder' });
  const server = await encoderPanel.getByLabel('RTMP server URL').inputValue();
  const key = await encoderPanel.getByLabel('Stream key').inputValue();
  expect(server).toBe(topology.rtmpUrl);
  expect(key).toMatch(/^ovk_/);

  // A wrong key is refused: the encoder fails, nothing goes live.
  const wrong = encoder(`${server}/ovk_${'x'.repeat(43)}`, 3);
  expect(await wrong.exit).not.toBe(0);

  const viewer = await openViewer(videoId);
  const pushedAt = Date.now();
  const pushed = encoder(`${server}/${key}`, SECONDS);
  try {
    // The first segment makes the video live; the viewer's player plays the ingest's stream.
    await expect(viewer.page.getByText('Live', { exact: true })).toBeVisible({ timeout: 30_000 });
    const player = viewer.page.getByLabel('Live video');
    await expect
      .poll(() => player.evaluate((v: HTMLVideoElement) => v.currentTime), { timeout: 30_000 })
      .toBeGreaterThan(1);
    const first = await player.evaluate((v: HTMLVideoElement) => v.currentTime);
    await expect.poll(() => player.evaluate((v: HTMLVideoElement) => v.currentTime)).toBeGreaterThan(first + 1);
    // The picture is the pushed one: the magenta square at its place.
    const pixel = await player.evaluate((v: HTMLVideoElement) => {
      const canvas = document.createElement('canvas');
      canvas.width = v.videoWidth;
      canvas.height = v.videoHeight;
      const context = canvas.getContext('2d');
      context?.drawImage(v, 0, 0);
      const at = (n: number, of: number, size: number) => Math.round((n / of) * size);
      const data = context?.getImageData(at(60, 426, v.videoWidth), at(60, 240, v.videoHeight), 1, 1).data;
      return data ? [data[0], data[1], data[2]] : [];
    });
    expect(pixel[0]).toBeGreaterThan(180);
    expect(pixel[1]).toBeLessThan(90);
    expect(pixel[2]).toBeGreaterThan(180);

    // Glass to glass: now minus the wall-clock time of the frame on screen, in the studio's
    // preview (hls.js, which knows each frame's PROGRAM-DATE-TIME; the viewer page uses the
    // browser's own HLS player where it has one), sampled at three frames half a second apart.
    const preview = studio.page.getByLabel('Preview');
    const delays: number[] = [];
    let sampledAt = 0;
    for (let i = 0; i < 3; i++) {
      await expect
        .poll(() =>
          preview.evaluate(
            (v: HTMLVideoElement, after: number) => Number(v.dataset.playingDate) > 0 && v.currentTime > after,
            sampledAt + 0.5,
          ),
        )
        .toBe(true);
      const sample = await preview.evaluate((v: HTMLVideoElement) => ({
        delay: Date.now() - Number(v.dataset.playingDate),
        at: v.currentTime,
      }));
      delays.push(sample.delay);
      sampledAt = sample.at;
    }
    const median = [...delays].sort((a, b) => a - b)[1] as number;
    // PROGRAM-DATE-TIME starts when the ingest's packager starts, after the encoder connected and
    // its key was checked: the first frame was made at most that long before its stamp. So the
    // delay from the encoder's picture is at most the measured one plus that head start.
    const { video: live } = (await (await viewer.page.request.get(`/api/videos/${videoId}`)).json()) as {
      video: { hlsUrl: string };
    };
    const playlist = await (await viewer.page.request.get(live.hlsUrl)).text();
    const sequence = Number(/#EXT-X-MEDIA-SEQUENCE:(\d+)/.exec(playlist)?.[1] ?? 0);
    const firstStamp = Date.parse(/#EXT-X-PROGRAM-DATE-TIME:(\S+)/.exec(playlist)?.[1] ?? '');
    const headStart = firstStamp - sequence * 1_000 - pushedAt;
    const summary = `${delays.join(', ')} ms from the stamp; encoder started ${headStart} ms before the first stamp`;
    testInfo.annotations.push({ type: 'glass-to-glass', description: summary });
    console.log(`[ingest] glass-to-glass (studio preview, ${testInfo.project.name}): ${summary}`);
    expect(median).toBeGreaterThan(0);
    expect(median).toBeLessThan(10_000);

    // The studio shows the encoder and its stream.
    await expect(encoderPanel.getByLabel('Encoder status')).toContainText('Encoder connected', { timeout: 10_000 });
    const health = encoderPanel.locator('dl.stream-health');
    await expect(health).toContainText('426×240');
    await expect(health).toContainText('h264 / aac');
    await expect(health).toContainText('kbps');
    await expect(health).toContainText(/30(\.0)? fps|29\.\d fps/);
    await expect(encoderPanel.getByLabel('Glass-to-glass delay')).toContainText('Glass-to-glass delay', {
      timeout: 15_000,
    });

    // The encoder drops: viewers are told.
    pushed.child.kill('SIGKILL');
    await pushed.exit;
    await expect(viewer.page.getByText('Stream interrupted')).toBeVisible({ timeout: 15_000 });
    await expect(encoderPanel.getByLabel('Encoder status')).toContainText('Encoder disconnected', { timeout: 15_000 });

    // The broadcaster ends the video: it ends for the viewer.
    await studio.page.getByRole('button', { name: `End live video ${title}` }).click();
    await expect(viewer.page.getByText('This live video has ended')).toBeVisible();
  } finally {
    pushed.child.kill('SIGKILL');
    // What the encoder said, for a failure's report (it ends early only when something broke).
    if (pushed.stderr()) testInfo.annotations.push({ type: 'encoder stderr', description: pushed.stderr() });
  }
});
