import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import {
  AppError,
  IngestHealthSchema,
  randomTag,
  STREAM_KEY_PATTERN,
  type TIngestAuthorizeRequest,
  type TIngestAuthorizeResponse,
  type TIngestInfo,
  type TIngestReport,
  type TIngestReportResponse,
  type TPublishEvent,
  type TUser,
  videoTopic,
} from '@ovation/shared';
import { context } from './context';
import { completePublish } from './idempotency';
import { parseJson } from './store/accounts';
import type { StoredVideo } from './store/store';
import { ownedVideo, setStatus } from './videos';

/*
 * The web's side of ingest (apps/ingest packages a broadcaster's RTMP as HLS). Each video has a
 * stream key, made when its owner first asks for it and replaced on rotation; the store keeps the
 * key on the video (the owner reads it back) and its SHA-256 in an index (the ingest asks by key).
 * The ingest asks before it accepts a publish (authorize), then reports: `live` when the first
 * segment is ready (the video goes live on the ingest's playlist), `health` every 2 seconds, and
 * `interrupted` when the encoder drops. The web answers `stop` to a publish that is no longer the
 * video's (the key was rotated, the video ended): rotating a key cuts the encoder off.
 */

/** A health report older than this means the encoder is gone (the ingest reports every 2 s). */
export const HEALTH_STALE_MS = 10_000;

function newStreamKey(): string {
  return `ovk_${randomBytes(32).toString('base64url')}`;
}

function keyHash(key: string): string {
  return createHash('sha256').update(key).digest('hex');
}

function sameKey(a: string, b: string): boolean {
  const [x, y] = [Buffer.from(a), Buffer.from(b)];
  return x.length === y.length && timingSafeEqual(x, y);
}

function rtmpUrl(): string {
  const url = context().config.ingestRtmpUrl;
  if (!url) {
    throw new AppError('UNAVAILABLE', 'no ingest service is configured here (INGEST_RTMP_URL); see the README', {
      retryAfterSeconds: 60,
    });
  }
  return url;
}

/** Gives the video a new key: indexed first (so it works at once), then the old one unindexed. */
async function replaceKey(video: StoredVideo, clearSession: boolean): Promise<string> {
  const { store } = context();
  const key = newStreamKey();
  await store.indexStreamKey(keyHash(key), video.id);
  const saved = await store.setVideoFields(video.id, {
    streamKey: key,
    ...(clearSession ? { ingestSession: null, ingestHealth: null, ingestReportedAt: null } : {}),
  });
  if (!saved) throw new AppError('NOT_FOUND', `no video ${video.id}`);
  if (video.streamKey) await store.unindexStreamKey(keyHash(video.streamKey), video.id);
  return key;
}

/** GET /api/videos/:id/ingest: the owner's RTMP URL and key (made on first ask), and the health. */
export async function ingestInfo(user: TUser, videoId: string): Promise<TIngestInfo> {
  const url = rtmpUrl();
  const video = await ownedVideo(user, videoId);
  const streamKey = video.streamKey ?? (await replaceKey(video, false));
  return { rtmpUrl: url, streamKey, ...healthOf(video) };
}

/** POST /api/videos/:id/ingest/rotate: a new key; a publish with the old one is stopped. */
export async function rotateKey(user: TUser, videoId: string): Promise<TIngestInfo> {
  const url = rtmpUrl();
  const video = await ownedVideo(user, videoId);
  if (video.status === 'ended') throw new AppError('CONFLICT', 'this video has ended');
  const streamKey = await replaceKey(video, true);
  // The ingest stops that publish quietly (the web asked): viewers are told here.
  if (video.stream === 'live') {
    await context().store.setVideoFields(video.id, { stream: 'interrupted' });
    if (video.ingestSession) await publishStream(video.id, 'interrupted', video.ingestSession);
  }
  return { rtmpUrl: url, streamKey, health: null, reportedAt: null };
}

function healthOf(video: StoredVideo): Pick<TIngestInfo, 'health' | 'reportedAt'> {
  const at = video.ingestReportedAt ? Date.parse(video.ingestReportedAt) : Number.NaN;
  if (!video.ingestSession || !video.ingestHealth || !(Date.now() - at < HEALTH_STALE_MS)) {
    return { health: null, reportedAt: video.ingestReportedAt ?? null };
  }
  const health = IngestHealthSchema.safeParse(parseJson(video.ingestHealth));
  return { health: health.success ? health.data : null, reportedAt: video.ingestReportedAt ?? null };
}

/**
 * POST /api/internal/ingest/authorize: the video a key publishes to, and a new session id that is
 * now the video's publish (an older one gets `stop` at its next report). Refused (403): a key of
 * no video, of an ended video, or one that was rotated away.
 */
export async function authorizePublish(request: TIngestAuthorizeRequest): Promise<TIngestAuthorizeResponse> {
  const { store } = context();
  const refuse = (why: string) => {
    // The key's first characters only: enough to tell keys apart in a log, useless to publish with.
    console.warn(
      JSON.stringify({ msg: 'ingest key refused', why, key: request.streamKey.slice(0, 8), address: request.address }),
    );
    return new AppError('FORBIDDEN', 'this stream key publishes to no video');
  };
  if (!STREAM_KEY_PATTERN.test(request.streamKey)) throw refuse('not a stream key');
  const videoId = await store.videoOfStreamKey(keyHash(request.streamKey));
  const video = videoId === undefined ? undefined : await store.getVideo(videoId);
  if (!video?.streamKey || !sameKey(video.streamKey, request.streamKey)) throw refuse('unknown or rotated key');
  if (video.status === 'ended') throw refuse('the video has ended');
  // One encoder at a time: a second one with the same key (a leaked key, a second OBS) does not
  // take over a publish that is running — it may once that one is interrupted or silent.
  const heard = video.ingestReportedAt ? Date.parse(video.ingestReportedAt) : Number.NaN;
  if (video.ingestSession && video.stream !== 'interrupted' && Date.now() - heard < HEALTH_STALE_MS) {
    throw new AppError('CONFLICT', 'an encoder is publishing to this video already');
  }
  const sessionId = `is-${randomTag(12)}`;
  // Noted as heard now: the window above covers the new publish from its start.
  await store.setVideoFields(video.id, {
    ingestSession: sessionId,
    ingestHealth: null,
    ingestReportedAt: new Date().toISOString(),
  });
  return { videoId: video.id, sessionId };
}

/** POST /api/internal/ingest/report: what the ingest saw; `stop` for a publish no longer the video's. */
export async function ingestReport(report: TIngestReport): Promise<TIngestReportResponse> {
  const { store } = context();
  const video = await store.getVideo(report.videoId);
  if (!video || video.ingestSession !== report.sessionId || video.status === 'ended') return { stop: true };
  const now = new Date().toISOString();
  switch (report.state) {
    case 'health':
      if (report.health) {
        await store.setVideoFields(video.id, { ingestHealth: JSON.stringify(report.health), ingestReportedAt: now });
      }
      return { stop: false };
    case 'live': {
      // The playlist's address is the web's own configuration, never the report's: whoever can
      // report cannot point viewers elsewhere.
      const base = context().config.ingestPublicUrl;
      if (!base) return { stop: true };
      const hlsUrl = `${base}/hls/${encodeURIComponent(video.id)}/index.m3u8`;
      await store.setVideoFields(video.id, { hlsUrl, stream: 'live', ingestReportedAt: now });
      // The first segment is ready: the video goes live, as its owner's Go live would. A repeat
      // (the ingest retries until answered) changes nothing, and publishes the `status` event only
      // if an earlier attempt stored the change but could not publish it.
      await setStatus({ id: video.ownerId, name: '' }, video.id, 'live');
      await publishStream(video.id, 'live', report.sessionId);
      return { stop: false };
    }
    case 'interrupted':
      await store.setVideoFields(video.id, { stream: 'interrupted', ingestHealth: null, ingestReportedAt: now });
      await publishStream(video.id, 'interrupted', report.sessionId);
      return { stop: false };
  }
}

/** Tells viewers (the `stream` event); keyed per session and state, so a repeated report publishes once. */
async function publishStream(videoId: string, state: 'live' | 'interrupted', sessionId: string): Promise<void> {
  const events: TPublishEvent[] = [{ topic: videoTopic(videoId), type: 'stream', data: { videoId, state } }];
  await completePublish(events, `web:stream:${videoId}:${sessionId}:${state}`);
}
