import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '../../../test-support/poll.js';
import { redisForThisFile } from '../../../test-support/shared-redis.js';
import { TestViewer } from '../../../test-support/sse-client.js';
import * as authorize from '../app/api/internal/ingest/authorize/route';
import * as report from '../app/api/internal/ingest/report/route';
import * as end from '../app/api/videos/[id]/end/route';
import * as rotate from '../app/api/videos/[id]/ingest/rotate/route';
import * as ingest from '../app/api/videos/[id]/ingest/route';
import * as video from '../app/api/videos/[id]/route';
import * as videos from '../app/api/videos/route';
import { loadWebConfig } from '../lib/server/config';
import { createContext, setContext } from '../lib/server/context';
import { expectError, params, req, signIn, signUp, startServices, TOKEN } from './route-helpers';

/*
 * The web's side of ingest: the owner's RTMP URL and stream key (rotation cuts a publish off), the
 * ingest's authorize and reports (the video goes live on the ingest's playlist, viewers hear
 * `stream` live and interrupted, the studio reads the health). Memory and Redis.
 */

const shared = redisForThisFile('ingest-routes');
let services: Awaited<ReturnType<typeof startServices>>;
beforeAll(async () => {
  services = await startServices();
});
afterAll(() => services.close());

const RTMP = 'rtmp://ingest.test/live';
const env = () => ({
  INTERNAL_TOKEN: TOKEN,
  DISPATCHER_URLS: services.dispatcherUrl,
  INGEST_RTMP_URL: RTMP,
  INGEST_PUBLIC_URL: 'http://ingest.test:8935',
});
const modes: Record<string, () => ReturnType<typeof createContext>> = {
  memory: () => createContext(loadWebConfig(env())),
  redis: () => createContext(loadWebConfig({ ...env(), REDIS_PREFIX: shared.prefix() }), { redis: shared.client() }),
};

const internal = { authorization: `Bearer ${TOKEN}` };
const ask = (streamKey: string, headers: Record<string, string> = internal) =>
  authorize.POST(
    req('/api/internal/ingest/authorize', { method: 'POST', headers, body: { streamKey, address: '203.0.113.9' } }),
  );
const tell = (body: Record<string, unknown>) =>
  report.POST(req('/api/internal/ingest/report', { method: 'POST', headers: internal, body }));

const health = {
  connectedAt: new Date().toISOString(),
  bytesIn: 1_000_000,
  bitrateKbps: 2_500,
  video: { codec: 'h264', width: 640, height: 360, fps: 30, frames: 300, keyframeIntervalS: 1 },
  audio: { codec: 'aac', sampleRate: 48_000 },
  segments: 9,
  lastSegmentAt: new Date().toISOString(),
  segmentDurationS: 1,
};

describe.each(Object.entries(modes))('ingest routes (%s)', (_mode, make) => {
  beforeAll(() => setContext(make()));
  afterAll(() => setContext(undefined));

  async function ownedVideo() {
    const owner = await signUp('Encoder Owner');
    const created = await videos.POST(
      req('/api/videos', { method: 'POST', cookie: owner.cookie, body: { title: 'OBS' } }),
    );
    const { video: v } = (await created.json()) as { video: { id: string } };
    return { owner, id: v.id };
  }
  const info = async (cookie: string, id: string) =>
    ingest.GET(req(`/api/videos/${id}/ingest`, { cookie }), params({ id }));

  it("shows the owner the RTMP URL and a stream key (the same until rotated), no one else's", async () => {
    const { owner, id } = await ownedVideo();
    const first = (await (await info(owner.cookie, id)).json()) as { rtmpUrl: string; streamKey: string; health: null };
    expect(first).toEqual({
      rtmpUrl: RTMP,
      streamKey: expect.stringMatching(/^ovk_[A-Za-z0-9_-]{43}$/),
      health: null,
      reportedAt: null,
    });
    expect(((await (await info(owner.cookie, id)).json()) as { streamKey: string }).streamKey).toBe(first.streamKey);
    // The key is the owner's secret: never in the public video.
    const shown = await (await video.GET(req(`/api/videos/${id}`), params({ id }))).text();
    expect(shown).not.toContain(first.streamKey);
    expect(shown).not.toContain('ingest');

    await expectError(await info((await signUp('Not Owner')).cookie, id), 403, 'FORBIDDEN');
    await expectError(await info((await signIn('Guest')).cookie, id), 403, 'ACCOUNT_REQUIRED');
    await expectError(await info(owner.cookie, 'nope'), 404, 'NOT_FOUND');
  });

  it('authorizes a key, takes the reports: live on the playlist, health for the studio, interrupted for viewers', async () => {
    const { owner, id } = await ownedVideo();
    const { streamKey } = (await (await info(owner.cookie, id)).json()) as { streamKey: string };
    const viewer = await TestViewer.connect(`${services.nodeUrl}/connect?topics=video:${id}`);
    try {
      await expectError(await ask(streamKey, {}), 401, 'UNAUTHORIZED');
      await expectError(await ask('ovk_not-a-key'), 403, 'FORBIDDEN');
      await expectError(await ask(`ovk_${'A'.repeat(43)}`), 403, 'FORBIDDEN');
      const granted = await ask(streamKey);
      expect(granted.status).toBe(200);
      const { videoId, sessionId } = (await granted.json()) as { videoId: string; sessionId: string };
      expect(videoId).toBe(id);

      // A second encoder with the same key does not take over the running publish.
      await expectError(await ask(streamKey), 409, 'CONFLICT');

      // The playlist is where the web's configuration says, whatever a report names.
      const playlistUrl = `http://ingest.test:8935/hls/${id}/index.m3u8`;
      expect(
        await (await tell({ videoId, sessionId, state: 'live', playlistUrl: 'https://evil.test/x.m3u8' })).json(),
      ).toEqual({ stop: false });
      const live = (await (await video.GET(req(`/api/videos/${id}`), params({ id }))).json()) as {
        video: { status: string; hlsUrl: string; stream: string };
      };
      expect(live.video).toMatchObject({ status: 'live', hlsUrl: playlistUrl, stream: 'live' });
      await waitFor('status live', () => viewer.events('status').some((e) => e.data.status === 'live'));
      await waitFor('stream live', () => viewer.events('stream').some((e) => e.data.state === 'live'));

      expect(await (await tell({ videoId, sessionId, state: 'health', health })).json()).toEqual({ stop: false });
      const shown = (await (await info(owner.cookie, id)).json()) as { health: unknown; reportedAt: string };
      expect(shown.health).toEqual(health);
      expect(Date.parse(shown.reportedAt)).toBeGreaterThan(Date.now() - 5_000);
      await expectError(
        await tell({ videoId, sessionId, state: 'health', health: { bitrateKbps: -1 } }),
        400,
        'VALIDATION_FAILED',
      );

      expect(await (await tell({ videoId, sessionId, state: 'interrupted' })).json()).toEqual({ stop: false });
      await waitFor('stream interrupted', () => viewer.events('stream').some((e) => e.data.state === 'interrupted'));
      // Interrupted: the encoder may come back (a new publish of the same key).
      expect((await ask(streamKey)).status).toBe(200);
      expect(((await (await info(owner.cookie, id)).json()) as { health: unknown }).health).toBeNull();
      expect(
        ((await (await video.GET(req(`/api/videos/${id}`), params({ id }))).json()) as { video: { stream: string } })
          .video.stream,
      ).toBe('interrupted');

      // A report of a session that is not the video's (the one before) is told to stop.
      expect(await (await tell({ videoId, sessionId, state: 'health', health })).json()).toEqual({ stop: true });
    } finally {
      viewer.close();
    }
  });

  it("lists a video from the ingest with its poster (next to its playlist) and everyone's with their broadcaster", async () => {
    const { owner, id } = await ownedVideo();
    const { streamKey } = (await (await info(owner.cookie, id)).json()) as { streamKey: string };
    const { sessionId } = (await (await ask(streamKey)).json()) as { sessionId: string };
    expect((await tell({ videoId: id, sessionId, state: 'live' })).status).toBe(200);
    const external = await videos.POST(
      req('/api/videos', {
        method: 'POST',
        cookie: owner.cookie,
        body: { title: 'Elsewhere', hlsUrl: 'https://cdn.example/live.m3u8' },
      }),
    );
    const { video: other } = (await external.json()) as { video: { id: string } };

    type Item = { id: string; posterUrl?: string; ownerName?: string };
    const listed = async (query = '', cookie?: string) =>
      ((await (await videos.GET(req(`/api/videos${query}`, cookie ? { cookie } : {}))).json()) as { videos: Item[] })
        .videos;
    const all = await listed();
    expect(all.find((v) => v.id === id)).toMatchObject({
      posterUrl: `http://ingest.test:8935/hls/${id}/poster.jpg`,
      ownerName: 'Encoder Owner',
    });
    expect(all.find((v) => v.id === 'demo')).toMatchObject({ ownerName: 'Ovation' });
    expect(all.find((v) => v.id === 'demo')?.posterUrl).toBeUndefined();
    // The owner's list (the studio's) has them too; an external stream has no poster.
    const mine = await listed('?owner=me', owner.cookie);
    expect(mine.find((v) => v.id === other.id)).toEqual(expect.objectContaining({ ownerName: 'Encoder Owner' }));
    expect(mine.find((v) => v.id === other.id)?.posterUrl).toBeUndefined();
    expect(mine.find((v) => v.id === id)?.posterUrl).toBe(`http://ingest.test:8935/hls/${id}/poster.jpg`);
    // Ended: the ingest keeps no files of it, so no poster is named.
    expect(
      (await end.POST(req(`/api/videos/${id}/end`, { method: 'POST', cookie: owner.cookie }), params({ id }))).status,
    ).toBe(200);
    expect((await listed()).find((v) => v.id === id)?.posterUrl).toBeUndefined();
  });

  it('rotating the key refuses the old one and stops its publish; ending the video stops the new one', async () => {
    const { owner, id } = await ownedVideo();
    const { streamKey: old } = (await (await info(owner.cookie, id)).json()) as { streamKey: string };
    const { sessionId } = (await (await ask(old)).json()) as { sessionId: string };
    const rotated = await rotate.POST(
      req(`/api/videos/${id}/ingest/rotate`, { method: 'POST', cookie: owner.cookie }),
      params({ id }),
    );
    expect(rotated.headers.get('cache-control')).toBe('no-store');
    const { streamKey } = (await rotated.json()) as { streamKey: string };
    expect(streamKey).not.toBe(old);
    expect(await (await tell({ videoId: id, sessionId, state: 'health', health })).json()).toEqual({ stop: true });
    await expectError(await ask(old), 403, 'FORBIDDEN');

    const again = (await (await ask(streamKey)).json()) as { sessionId: string };
    await end.POST(req(`/api/videos/${id}/end`, { method: 'POST', cookie: owner.cookie }), params({ id }));
    expect(await (await tell({ videoId: id, sessionId: again.sessionId, state: 'health', health })).json()).toEqual({
      stop: true,
    });
    await expectError(await ask(streamKey), 403, 'FORBIDDEN');
    await expectError(
      await rotate.POST(
        req(`/api/videos/${id}/ingest/rotate`, { method: 'POST', cookie: owner.cookie }),
        params({ id }),
      ),
      409,
      'CONFLICT',
    );
  });
});

describe('ingest routes without an ingest service', () => {
  afterAll(() => setContext(undefined));

  it('answers 503 with how to set it up', async () => {
    setContext(createContext(loadWebConfig({ INTERNAL_TOKEN: TOKEN, DISPATCHER_URLS: services.dispatcherUrl })));
    const owner = await signUp('No Ingest');
    const created = await videos.POST(
      req('/api/videos', { method: 'POST', cookie: owner.cookie, body: { title: 'x' } }),
    );
    const { video: v } = (await created.json()) as { video: { id: string } };
    const message = await expectError(
      await ingest.GET(req(`/api/videos/${v.id}/ingest`, { cookie: owner.cookie }), params({ id: v.id })),
      503,
      'UNAVAILABLE',
    );
    expect(message).toMatch(/INGEST_RTMP_URL/);
  });
});
