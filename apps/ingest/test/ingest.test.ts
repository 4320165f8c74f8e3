import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { reservePort } from '@ovation/shared/server';
import type { FastifyInstance } from 'fastify';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '../../../test-support/poll.js';
import { buildApp } from '../src/app.js';
import { loadIngestConfig } from '../src/config.js';
import { TestEncoder } from './encoder.js';
import { FakeWeb, WEB_TOKEN } from './fake-web.js';

/*
 * The ingest as deployed, minus the web: the app on free ports, a fake web recording what it is
 * told, and real ffmpeg encoders pushing RTMP into it (and real ffmpeg packaging HLS).
 */

let web: FakeWeb;
let app: FastifyInstance;
let hlsDir: string;
let httpUrl: string;
let rtmpUrl: string;
const encoders: TestEncoder[] = [];

beforeAll(async () => {
  web = await FakeWeb.start();
  hlsDir = await mkdtemp(join(tmpdir(), 'ingest-test-'));
  const [port, rtmpPort] = [await reservePort(), await reservePort()];
  httpUrl = `http://127.0.0.1:${port}`;
  rtmpUrl = `rtmp://127.0.0.1:${rtmpPort}/live`;
  const config = loadIngestConfig({
    HOST: '127.0.0.1',
    PORT: String(port),
    RTMP_PORT: String(rtmpPort),
    WEB_URL: web.url,
    INTERNAL_TOKEN: WEB_TOKEN,
    HLS_DIR: hlsDir,
    LOG_LEVEL: 'silent',
  });
  app = await buildApp(config);
  await app.listen({ host: config.host, port: config.port });
});

afterEach(() => {
  for (const encoder of encoders.splice(0)) encoder.kill();
});

afterAll(async () => {
  await app?.close();
  await web?.close();
  await rm(hlsDir, { recursive: true, force: true });
});

function encode(key: string, seconds: number): TestEncoder {
  const encoder = new TestEncoder(`${rtmpUrl}/${key}`, seconds);
  encoders.push(encoder);
  return encoder;
}

/** A JPEG's size from its start-of-frame marker (undefined: not a JPEG). */
function jpegSize(bytes: Buffer): { width: number; height: number } | undefined {
  if (bytes[0] !== 0xff || bytes[1] !== 0xd8) return undefined;
  for (let at = 2; at + 9 < bytes.length; ) {
    const marker = bytes[at + 1] as number;
    if (marker >= 0xc0 && marker <= 0xc3)
      return { height: bytes.readUInt16BE(at + 5), width: bytes.readUInt16BE(at + 7) };
    at += 2 + bytes.readUInt16BE(at + 2);
  }
  return undefined;
}

function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

async function metric(name: string, labels = ''): Promise<number> {
  const response = await fetch(`${httpUrl}/metrics`, { headers: { authorization: `Bearer ${WEB_TOKEN}` } });
  expect(response.status).toBe(200);
  const line = (await response.text()).split('\n').find((l) => l.startsWith(`${name}${labels} `));
  return line === undefined ? 0 : Number(line.split(' ')[1]);
}

describe('ingest with a real encoder', () => {
  it('answers /healthz and keeps /metrics behind the internal token', async () => {
    const health = await fetch(`${httpUrl}/healthz`);
    expect(health.status).toBe(200);
    const body = (await health.json()) as { status: string; checks: Record<string, { ok: boolean }> };
    expect(body.status).toBe('ok');
    expect(body.checks.rtmp?.ok).toBe(true);
    expect((await fetch(`${httpUrl}/metrics`)).status).toBe(401);
  });

  it('goes live, reports health, serves the HLS, and reports the interruption when the encoder stops', async () => {
    const key = web.addKey('video1');
    const encoder = encode(key, 6);

    const live = await waitFor('the live report', () => web.reportsFor('video1', 'live')[0], { timeoutMs: 15_000 });
    expect(live.playlistUrl).toBe(`${httpUrl}/hls/video1/index.m3u8`);
    expect(live.health?.segments).toBeGreaterThanOrEqual(1);
    expect(web.authorizations).toContainEqual({ streamKey: key, address: '127.0.0.1' });

    const playlist = await fetch(live.playlistUrl as string);
    expect(playlist.status).toBe(200);
    expect(playlist.headers.get('cache-control')).toBe('no-cache');
    expect(playlist.headers.get('access-control-allow-origin')).toBe('*');
    const text = await playlist.text();
    const durations = [...text.matchAll(/#EXTINF:([\d.]+),/g)].map((m) => Number(m[1]));
    expect(durations.length).toBeGreaterThanOrEqual(1);
    expect(durations[0]).toBeGreaterThan(0.8);
    expect(durations[0]).toBeLessThan(1.2);
    const segmentName = text.split('\n').find((line) => /^seg-\d+\.ts$/.test(line));
    expect(segmentName).toBeDefined();

    const segment = await fetch(`${httpUrl}/hls/video1/${segmentName}`);
    expect(segment.status).toBe(200);
    expect(segment.headers.get('content-type')).toBe('video/mp2t');
    expect(segment.headers.get('cache-control')).toBe('public, max-age=60');
    expect(segment.headers.get('access-control-allow-origin')).toBe('*');
    const bytes = Buffer.from(await segment.arrayBuffer());
    expect(bytes.length).toBeGreaterThan(188);
    expect(bytes[0]).toBe(0x47);
    expect(bytes[188]).toBe(0x47); // MPEG-TS packets of 188 bytes

    // Names outside the pattern, or a video without a session, are 404 whatever they point at.
    for (const path of ['/hls/video1/..%2F..%2Fetc%2Fpasswd', '/hls/video1/seg-1.mp4', '/hls/nothing/index.m3u8']) {
      expect((await fetch(`${httpUrl}${path}`)).status, path).toBe(404);
    }

    const { code } = await encoder.exited;
    expect(code, encoder.stderr).toBe(0);
    const interrupted = await waitFor('the interrupted report', () => web.reportsFor('video1', 'interrupted')[0]);
    expect(interrupted.sessionId).toBe(live.sessionId);

    // The last health report covers ≥ 3 s of a 30 fps, 640x360 H.264 + AAC stream with 1 s GOPs.
    const health = web.reportsFor('video1', 'health').at(-1)?.health;
    expect(web.reportsFor('video1', 'health').length).toBeGreaterThanOrEqual(2);
    expect(health).toMatchObject({
      video: { codec: 'h264', width: 640, height: 360 },
      audio: { codec: 'aac', sampleRate: 48000 },
    });
    expect(health?.video.fps).toBeGreaterThan(25);
    expect(health?.video.fps).toBeLessThan(35);
    expect(health?.video.frames).toBeGreaterThan(60);
    expect(health?.video.keyframeIntervalS).toBeCloseTo(1, 1);
    expect(health?.bitrateKbps).toBeGreaterThan(50);
    expect(health?.segments).toBeGreaterThanOrEqual(2);
    expect(health?.segmentDurationS).toBeGreaterThan(0.8);
    expect(health?.lastSegmentAt).not.toBeNull();
    expect(web.invalid).toEqual([]);

    expect(await metric('ingest_publishes_accepted_total')).toBe(1);
    expect(await metric('ingest_bytes_in_total')).toBe(interrupted.health?.bytesIn);
    expect(await metric('ingest_active_publishers')).toBe(0);
    // The interrupted session's HLS stays served for a while (a player catching up).
    expect((await fetch(live.playlistUrl as string)).status).toBe(200);
  });

  it('writes a poster next to the HLS: a 320 px JPEG, served like the segments, replaced every 5 s', async () => {
    const key = web.addKey('video3');
    const encoder = encode(key, 12);
    const live = await waitFor('the live report', () => web.reportsFor('video3', 'live')[0], { timeoutMs: 15_000 });
    const posterUrl = (live.playlistUrl as string).replace(/index\.m3u8$/, 'poster.jpg');
    const fetchPoster = async () => {
      const response = await fetch(posterUrl);
      if (response.status === 200) return response;
      await response.body?.cancel();
      return undefined;
    };

    const first = await waitFor('the first poster', fetchPoster, { timeoutMs: 8000, intervalMs: 200 });
    expect(first.headers.get('content-type')).toBe('image/jpeg');
    expect(first.headers.get('access-control-allow-origin')).toBe('*');
    expect(first.headers.get('cache-control')).toBe('public, max-age=5');
    const jpeg = Buffer.from(await first.arrayBuffer());
    expect(jpegSize(jpeg)).toEqual({ width: 320, height: 180 });

    // testsrc draws a clock: a later poster is another picture.
    const later = await waitFor(
      'a newer poster',
      async () => {
        const response = await fetchPoster();
        const bytes = response && Buffer.from(await response.arrayBuffer());
        return bytes && !bytes.equals(jpeg) ? bytes : undefined;
      },
      { timeoutMs: 8000, intervalMs: 250 },
    );
    expect(jpegSize(later)).toEqual({ width: 320, height: 180 });
    // Only the current session's poster of a known video, by its exact name.
    expect((await fetch(`${httpUrl}/hls/nothing/poster.jpg`)).status).toBe(404);
    expect((await fetch(`${httpUrl}/hls/video3/poster.png`)).status).toBe(404);

    // Ended here, reported (the next tests count the reports).
    encoder.kill();
    await waitFor('the interrupted report', () => web.reportsFor('video3', 'interrupted')[0]);
  });

  it('refuses a wrong key before anything starts: the encoder fails, nothing is packaged, the refusal is counted', async () => {
    const before = await readdir(hlsDir);
    const reportsBefore = web.reports.length;
    const key = `ovk_${'w'.repeat(43)}`;
    const encoder = encode(key, 3);
    const { code } = await encoder.exited;
    expect(code).not.toBe(0);
    expect(encoder.stderr).toMatch(/stream key refused/);
    expect(web.authorizations.at(-1)).toEqual({ streamKey: key, address: '127.0.0.1' });
    expect(await metric('ingest_publishes_refused_total', '{reason="key"}')).toBe(1);
    expect(await metric('ingest_active_publishers')).toBe(0);
    expect(await readdir(hlsDir)).toEqual(before);
    expect(web.reports.length).toBe(reportsBefore);
  });

  it('ends a publish when the web answers stop, and refuses a second publish of a video that is live', async () => {
    const key = web.addKey('video2');
    const encoder = encode(key, 30);
    const live = await waitFor('the live report', () => web.reportsFor('video2', 'live')[0], { timeoutMs: 15_000 });

    const second = encode(key, 3);
    expect((await second.exited).code).not.toBe(0);
    expect(second.stderr).toMatch(/already publishing/);
    expect(await metric('ingest_publishes_refused_total', '{reason="busy"}')).toBe(1);

    web.stopSessions.add(live.sessionId);
    const exit = await within(encoder.exited, 5000, 'the encoder to be cut off');
    expect(exit.code).not.toBe(0);
    await waitFor('no publisher left', async () => (await metric('ingest_active_publishers')) === 0);
    // The web asked for the stop: it is not told of an interruption.
    expect(web.reportsFor('video2', 'interrupted')).toEqual([]);
  });

  it('refuses to start without ffmpeg, saying so', async () => {
    const config = loadIngestConfig({ WEB_URL: web.url, FFMPEG: '/nonexistent/ffmpeg', LOG_LEVEL: 'silent' });
    await expect(buildApp(config)).rejects.toThrow(/ffmpeg is needed.*FFMPEG/);
  });
});
