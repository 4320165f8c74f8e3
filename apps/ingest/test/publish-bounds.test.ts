import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { reservePort } from '@ovation/shared/server';
import type { FastifyInstance } from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { waitFor } from '../../../test-support/poll.js';
import { buildApp } from '../src/app.js';
import { loadIngestConfig } from '../src/config.js';
import type { Packager } from '../src/media/packager.js';
import { EcmaArray, encodeAmf0 } from '../src/rtmp/amf0.js';
import { MessageType } from '../src/rtmp/messages.js';
import { FakeWeb, WEB_TOKEN } from './fake-web.js';
import { aacFrame, h264Frame, RtmpTestClient } from './rtmp-client.js';

/*
 * The service's own rules around a publish — the web's answers, the limits, the reports, the
 * stop — with the RTMP test client as encoder and a packager that records instead of running
 * ffmpeg (ingest.test.ts runs the real one), so each rule is tested in well under a second.
 */

class RecordingPackager implements Packager {
  readonly writes: Array<{ type: number; timestamp: number; body: Buffer }> = [];
  backlog = 0;
  stopped = false;
  private exitListener: ((detail: string) => void) | undefined;

  constructor(readonly dir: string) {}
  write(type: number, timestamp: number, body: Buffer): void {
    this.writes.push({ type, timestamp, body });
  }
  onExit(listener: (detail: string) => void): void {
    this.exitListener = listener;
  }
  crash(detail: string): void {
    this.exitListener?.(detail);
  }
  async stop(): Promise<void> {
    this.stopped = true;
  }
}

interface Ingest {
  app: FastifyInstance;
  web: FakeWeb;
  rtmpPort: number;
  hlsDir: string;
  packagers: RecordingPackager[];
  publicUrl: string;
}

const running: Ingest[] = [];
const clients: RtmpTestClient[] = [];

afterEach(async () => {
  for (const client of clients.splice(0)) client.close();
  for (const ingest of running.splice(0)) {
    await ingest.app.close();
    await ingest.web.close();
    await rm(ingest.hlsDir, { recursive: true, force: true });
  }
});

async function startIngest(env: Record<string, string> = {}): Promise<Ingest> {
  const web = await FakeWeb.start();
  const hlsDir = await mkdtemp(join(tmpdir(), 'ingest-bounds-'));
  const rtmpPort = await reservePort();
  const publicUrl = 'http://ingest.example.test:8935';
  const packagers: RecordingPackager[] = [];
  const config = loadIngestConfig({
    HOST: '127.0.0.1',
    RTMP_PORT: String(rtmpPort),
    PUBLIC_URL: publicUrl,
    WEB_URL: web.url,
    INTERNAL_TOKEN: WEB_TOKEN,
    HLS_DIR: hlsDir,
    LOG_LEVEL: 'silent',
    ...env,
  });
  const app = await buildApp(config, {
    startPackager: (dir) => {
      const packager = new RecordingPackager(dir);
      packagers.push(packager);
      return packager;
    },
  });
  await app.ready();
  const ingest = { app, web, rtmpPort, hlsDir, packagers, publicUrl };
  running.push(ingest);
  return ingest;
}

async function encoder(ingest: Ingest): Promise<RtmpTestClient> {
  const client = await RtmpTestClient.handshaken(ingest.rtmpPort);
  clients.push(client);
  return client;
}

async function metric(app: FastifyInstance, name: string, labels = ''): Promise<number> {
  const response = await app.inject({ url: '/metrics', headers: { authorization: `Bearer ${WEB_TOKEN}` } });
  const line = response.body.split('\n').find((l) => l.startsWith(`${name}${labels} `));
  return line === undefined ? 0 : Number(line.split(' ')[1]);
}

const closed = (client: RtmpTestClient, what: string) => waitFor(what, () => client.closed, { timeoutMs: 3000 });

describe('an accepted publish', () => {
  it('writes FLV tags to its packager, goes live on the first segment, serves it, and reports the end', async () => {
    const ingest = await startIngest();
    const key = ingest.web.addKey('v1');
    const client = await encoder(ingest);
    expect(await client.publish(key)).toMatchObject({ code: 'NetStream.Publish.Start' });
    const packager = await waitFor('the packager', () => ingest.packagers[0]);
    expect(packager.dir).toBe(join(ingest.hlsDir, 'v1', 's1'));

    const onMetaData = new EcmaArray({ width: 1280, height: 720, framerate: 25 });
    client.send({
      chunkStreamId: 4,
      type: MessageType.DATA_AMF0,
      streamId: 1,
      timestamp: 0,
      payload: encodeAmf0('@setDataFrame', 'onMetaData', onMetaData),
    });
    client.media('video', 0, h264Frame(true));
    client.media('audio', 21, aacFrame());
    await waitFor('three tags', () => packager.writes.length === 3);
    expect(packager.writes.map((w) => [w.type, w.timestamp])).toEqual([
      [18, 0],
      [9, 0],
      [8, 21],
    ]);
    expect(packager.writes[0]?.body).toEqual(encodeAmf0('onMetaData', onMetaData));

    await writeFile(join(packager.dir, 'seg-0.ts'), Buffer.from([0x47, 1, 2, 3]));
    await writeFile(
      join(packager.dir, 'index.m3u8'),
      '#EXTM3U\n#EXT-X-MEDIA-SEQUENCE:0\n#EXTINF:1.000000,\nseg-0.ts\n',
    );
    const live = await waitFor('the live report', () => ingest.web.reportsFor('v1', 'live')[0]);
    expect(live).toMatchObject({
      sessionId: 's1',
      playlistUrl: `${ingest.publicUrl}/hls/v1/index.m3u8`,
      health: { segments: 1, segmentDurationS: 1, video: { width: 1280, height: 720, codec: 'h264' } },
    });

    const playlist = await ingest.app.inject({ url: '/hls/v1/index.m3u8' });
    expect(playlist.statusCode).toBe(200);
    expect(playlist.headers['content-type']).toBe('application/vnd.apple.mpegurl');
    expect(playlist.body).toContain('seg-0.ts');
    const segment = await ingest.app.inject({ url: '/hls/v1/seg-0.ts' });
    expect(segment.statusCode).toBe(200);
    expect(segment.rawPayload).toEqual(Buffer.from([0x47, 1, 2, 3]));
    const head = await ingest.app.inject({ method: 'HEAD', url: '/hls/v1/seg-0.ts' });
    expect(head.statusCode).toBe(200);
    expect(head.headers['content-length']).toBe('4');
    expect(head.rawPayload.length).toBe(0);
    for (const url of [
      '/hls/v1/seg-9.ts',
      '/hls/v1/seg-0.tsx',
      '/hls/v1/index.m3u8.tmp',
      '/hls/v1/..%2Fs1',
      '/hls/v2/index.m3u8',
    ]) {
      const missing = await ingest.app.inject({ url });
      expect(missing.statusCode, url).toBe(404);
      expect(missing.headers['access-control-allow-origin'], url).toBe('*');
    }

    client.close();
    const interrupted = await waitFor('the interrupted report', () => ingest.web.reportsFor('v1', 'interrupted')[0]);
    expect(interrupted.health?.bytesIn).toBe(100 + 50);
    expect(packager.stopped).toBe(true);
    expect(await metric(ingest.app, 'ingest_bytes_in_total')).toBe(150);
    expect(ingest.web.invalid).toEqual([]);
  });

  it('ends when the encoder sends no media for IDLE_MS', async () => {
    const ingest = await startIngest({ IDLE_MS: '300' });
    const client = await encoder(ingest);
    await client.publish(ingest.web.addKey('v1'));
    await closed(client, 'the idle publish to be ended');
    await waitFor('the interrupted report', () => ingest.web.reportsFor('v1', 'interrupted')[0]);
    expect(ingest.packagers[0]?.stopped).toBe(true);
  });

  it('ends when media keeps coming but no segment is cut for SEGMENT_WAIT_MS (a segment file would grow without end)', async () => {
    const ingest = await startIngest({ SEGMENT_WAIT_MS: '600', IDLE_MS: '5000' });
    const client = await encoder(ingest);
    await client.publish(ingest.web.addKey('v1'));
    // Frames keep arriving (never idle), but the packager writes no playlist: no segment.
    for (let i = 0; i < 40 && !client.closed; i++) {
      client.media('video', i * 40, h264Frame(false, 100));
      await new Promise((resolve) => setTimeout(resolve, 40));
    }
    await closed(client, 'the publish without segments to be ended');
    await waitFor('the interrupted report', () => ingest.web.reportsFor('v1', 'interrupted')[0]);
    expect(ingest.packagers[0]?.stopped).toBe(true);
  });

  it(`ends past MAX_BITRATE_KBPS averaged over 5 s`, async () => {
    const ingest = await startIngest({ MAX_BITRATE_KBPS: '100' }); // 62,500 bytes in 5 s
    const client = await encoder(ingest);
    await client.publish(ingest.web.addKey('v1'));
    for (let i = 0; i < 5; i++) client.media('video', i * 40, h264Frame(false, 10_000));
    await waitFor('five frames', () => ingest.packagers[0]?.writes.length === 5);
    expect(client.closed).toBe(false); // 50,000 bytes: under the cap
    for (let i = 5; i < 8; i++) client.media('video', i * 40, h264Frame(false, 10_000));
    await closed(client, 'the publish over the bitrate cap to be ended');
    await waitFor('the interrupted report', () => ingest.web.reportsFor('v1', 'interrupted')[0]);
  });

  it('ends when its packager falls 32 MiB behind, or exits', async () => {
    const ingest = await startIngest();
    const first = await encoder(ingest);
    await first.publish(ingest.web.addKey('v1'));
    const packager = await waitFor('the packager', () => ingest.packagers[0]);
    packager.backlog = 32 * 1024 * 1024 + 1;
    first.media('video', 0, h264Frame(true));
    await closed(first, 'the publish whose packager is behind to be ended');

    const second = await encoder(ingest);
    await second.publish(ingest.web.addKey('v2'));
    (await waitFor('the second packager', () => ingest.packagers[1])).crash('exited (code 1)');
    await closed(second, 'the publish whose packager exited to be ended');
    await waitFor('the interrupted report', () => ingest.web.reportsFor('v2', 'interrupted')[0]);
  });

  it('stops when the web answers a report with stop, without telling it of an interruption', async () => {
    const ingest = await startIngest();
    const client = await encoder(ingest);
    await client.publish(ingest.web.addKey('v1'));
    ingest.web.stopSessions.add('s1');
    const started = Date.now();
    client.media('video', 0, h264Frame(true));
    await closed(client, 'the stopped publish to be ended (at the next health report)');
    expect(Date.now() - started).toBeLessThan(4000); // the next health report, not IDLE_MS (5 s)
    expect(ingest.web.reportsFor('v1', 'health').length).toBeGreaterThanOrEqual(1);
    expect(ingest.web.reportsFor('v1', 'interrupted')).toEqual([]);
    expect(ingest.packagers[0]?.stopped).toBe(true);
  });

  it('ends with the service: the web told, the packager stopped, the HLS removed', async () => {
    const ingest = await startIngest();
    const client = await encoder(ingest);
    await client.publish(ingest.web.addKey('v1'));
    const packager = await waitFor('the packager', () => ingest.packagers[0]);
    running.splice(running.indexOf(ingest), 1);
    await ingest.app.close();
    expect(ingest.web.reportsFor('v1', 'interrupted')).toHaveLength(1);
    expect(packager.stopped).toBe(true);
    expect(existsSync(packager.dir)).toBe(false);
    expect(existsSync(join(ingest.hlsDir, 'v1'))).toBe(false);
    await closed(client, 'the encoder to be disconnected');
    await ingest.web.close();
    await rm(ingest.hlsDir, { recursive: true, force: true });
  });
});

describe('refused publishes', () => {
  it('one publisher per video ("already publishing") and at most MAX_PUBLISHERS', async () => {
    const ingest = await startIngest({ MAX_PUBLISHERS: '2' });
    const key1 = ingest.web.addKey('v1');
    await (await encoder(ingest)).publish(key1);
    const again = await encoder(ingest);
    expect(await again.publish(key1)).toMatchObject({ level: 'error', description: 'already publishing' });
    await (await encoder(ingest)).publish(ingest.web.addKey('v2'));
    const third = await encoder(ingest);
    expect(await third.publish(ingest.web.addKey('v3'))).toMatchObject({
      code: 'NetStream.Publish.BadName',
      description: 'the ingest is full',
    });
    expect(await metric(ingest.app, 'ingest_publishes_refused_total', '{reason="busy"}')).toBe(1);
    expect(await metric(ingest.app, 'ingest_publishes_refused_total', '{reason="full"}')).toBe(1);
    expect(await metric(ingest.app, 'ingest_active_publishers')).toBe(2);
    expect(await metric(ingest.app, 'ingest_publishes_accepted_total')).toBe(2);
    expect(ingest.packagers).toHaveLength(2);
  });

  it('refuses when the web cannot answer usably: an error status, a bad body, ids unsafe as paths', async () => {
    const ingest = await startIngest();
    const key = ingest.web.addKey('v1');
    const answers = [
      { status: 500, body: { error: { code: 'INTERNAL', message: 'boom' } } },
      { status: 200, body: { videoId: 'v1' } },
      { status: 200, body: { videoId: '../../etc', sessionId: 's1' } },
    ];
    for (const answer of answers) {
      ingest.web.authorizeOverride = answer;
      const client = await encoder(ingest);
      expect(await client.publish(key)).toMatchObject({ description: 'the stream key could not be checked' });
      await closed(client, 'the refused encoder to be closed');
    }
    expect(await metric(ingest.app, 'ingest_publishes_refused_total', '{reason="web_error"}')).toBe(3);
    expect(ingest.packagers).toEqual([]);
    expect(ingest.web.reports).toEqual([]);
  });

  it('refuses, without asking the web, a stream name too long to be a key', async () => {
    const ingest = await startIngest();
    const client = await encoder(ingest);
    expect(await client.publish('k'.repeat(201))).toMatchObject({ description: 'stream key refused' });
    expect(ingest.web.authorizations).toEqual([]);
    expect(await metric(ingest.app, 'ingest_publishes_refused_total', '{reason="key"}')).toBe(1);
  });
});
