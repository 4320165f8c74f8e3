import {
  AppError,
  checkHlsUrl,
  type TPublishEvent,
  type TUpdateVideo,
  type TUser,
  type TVideo,
  type TVideoStats,
  type TVideoStatus,
  videoTopic,
} from '@ovation/shared';
import { z } from 'zod';
import { context } from './context';
import { completePublish, onceFor, publishChange, resultOf, runOnce } from './idempotency';
import { keyOf, MAX_VIDEO_PAGE, type StoredVideo, type VideoIndex, type VideoKey } from './store/store';

/*
 * The product's domain: what route handlers call. Each change is stored first, then published on
 * the video's topic (`video:<id>`) so every viewer sees it; a retry of a change whose publish
 * failed publishes it (idempotency.ts). Likes: likes.ts; comments: comments.ts; bans: moderation.ts.
 */

export const DEMO_VIDEO_ID = 'demo';
/** Every status change is also published here, so lists (the home page) update at once. */
export const VIDEOS_TOPIC = 'videos';
export const DEMO_HLS_URL = '/demo/live.m3u8';
const VIDEO_ID = /^[A-Za-z0-9_-]{1,64}$/;

const DEMO = {
  id: DEMO_VIDEO_ID,
  title: 'Ovation demo — test pattern, live',
  hlsUrl: DEMO_HLS_URL,
  ownerId: 'system',
  status: 'live',
} as const;

/**
 * The bundled demo video is always there and live. The reads that would find it (re)create it
 * when it is missing — at first start, and after Redis restarted empty — so while it exists it
 * costs no round trip, and no web restart is needed to get it back.
 */
async function createDemo(): Promise<StoredVideo> {
  const { store } = context();
  const demo = (await store.createVideo({ ...DEMO })) ?? (await store.getVideo(DEMO_VIDEO_ID));
  if (!demo) throw new AppError('UNAVAILABLE', 'the demo video could not be created; try again');
  return demo;
}

/**
 * The public shape: the owner's name stays server-side (comments.ts checks it), and so do the
 * ingest's fields (the stream key is the owner's secret; health is the studio's, ingest.ts).
 */
export function present(video: StoredVideo, viewers: number): TVideo {
  const {
    ownerName: _ownerName,
    streamKey: _streamKey,
    ingestSession: _ingestSession,
    ingestHealth: _ingestHealth,
    ingestReportedAt: _ingestReportedAt,
    ...shown
  } = video;
  return { ...shown, viewers };
}

/** The bundled demo's broadcaster, as lists name it (its owner is no account). */
const DEMO_OWNER_NAME = 'Ovation';

/**
 * A video as lists show it: the public shape, plus who broadcasts it (their display name, shown on
 * their comments anyway) and, for a live stream from the ingest, its poster: the ingest writes a
 * JPEG frame next to the playlist every 5 s, served under the same rules as the segments (and gone
 * with them a minute after the encoder stops: none for an ended video). Other streams (an
 * external hlsUrl, the demo) have none; the home page draws a placeholder.
 */
function listItem(video: StoredVideo, viewers: number): TVideo {
  const item = present(video, viewers);
  const ownerName = video.ownerName || (video.id === DEMO_VIDEO_ID ? DEMO_OWNER_NAME : '');
  if (ownerName) item.ownerName = ownerName;
  const ingest = context().config.ingestPublicUrl;
  const playlist = ingest && `${ingest}/hls/${encodeURIComponent(video.id)}/index.m3u8`;
  if (video.status === 'live' && playlist && video.hlsUrl === playlist) {
    item.posterUrl = playlist.replace(/index\.m3u8$/, 'poster.jpg');
  }
  return item;
}

/** Viewer counts of the live ones in ONE dispatcher request (not one per video). */
async function withViewers(videos: StoredVideo[]): Promise<TVideo[]> {
  const live = videos.filter((v) => v.status === 'live').map((v) => videoTopic(v.id));
  const counts = live.length > 0 ? await context().dispatcher.viewersOf(live) : new Map<string, number>();
  return videos.map((v) => listItem(v, counts.get(videoTopic(v.id)) ?? 0));
}

/*
 * The public list, in pages: live videos, then the caller's own upcoming ones (never anyone
 * else's: an upcoming video is not announced), then ended ones; newest first within each. A
 * cursor names the part and the last video shown, so a page never repeats or skips a video
 * however many are created meanwhile (new ones appear on the first page).
 */
const PARTS = ['live', 'upcoming', 'ended'] as const;
type Part = (typeof PARTS)[number];

const CursorSchema = z.object({
  p: z.enum(PARTS),
  t: z.number().int().nonnegative().optional(),
  i: z.string().max(64).optional(),
});

function encodeCursor(part: Part, after: VideoKey | undefined): string {
  return Buffer.from(JSON.stringify({ p: part, ...(after ? { t: after.createdMs, i: after.id } : {}) })).toString(
    'base64url',
  );
}

function decodeCursor(cursor: string): { part: Part; after?: VideoKey } {
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {}
  const parsed = CursorSchema.safeParse(value);
  if (!parsed.success) throw new AppError('VALIDATION_FAILED', 'query.cursor: not a cursor this list gave');
  const { p, t, i } = parsed.data;
  return t !== undefined && i !== undefined ? { part: p, after: { createdMs: t, id: i } } : { part: p };
}

export interface VideoPage {
  videos: TVideo[];
  /** The cursor of the next page; null when nothing follows. */
  next: string | null;
}

export async function listVideos(
  viewer: TUser | undefined,
  page: { cursor?: string | undefined; limit?: number | undefined } = {},
): Promise<VideoPage> {
  const { store } = context();
  const limit = Math.min(Math.max(page.limit ?? MAX_VIDEO_PAGE, 1), MAX_VIDEO_PAGE);
  const start = page.cursor === undefined ? { part: 'live' as Part } : decodeCursor(page.cursor);
  // The demo is (re)created by the first page's read when missing (first start, Redis emptied).
  if (page.cursor === undefined && !(await store.getVideo(DEMO_VIDEO_ID))) await createDemo();
  const index = (part: Part): VideoIndex | undefined =>
    part === 'upcoming' ? (viewer ? { upcomingOf: viewer.id } : undefined) : { status: part };
  const taken: StoredVideo[] = [];
  let next: string | null = null;
  for (let p = PARTS.indexOf(start.part); p < PARTS.length; p++) {
    const part = PARTS[p] as Part;
    const from = part === start.part ? start.after : undefined;
    const which = index(part);
    if (!which) continue;
    const want = limit - taken.length;
    // One more than fits: whether anything follows is known without another page's request.
    const found = await store.pageVideos(which, want + 1, from);
    if (found.length > want) {
      const shown = found.slice(0, want);
      taken.push(...shown);
      const last = shown.at(-1);
      next = encodeCursor(part, last ? keyOf(last) : from);
      break;
    }
    taken.push(...found);
  }
  return { videos: await withViewers(taken), next };
}

/** The signed-in user's own videos (every status), newest first, with live viewer counts. */
export async function listMyVideos(user: TUser): Promise<TVideo[]> {
  return withViewers(await context().store.listVideosByOwner(user.id));
}

export async function findVideo(id: string): Promise<StoredVideo> {
  const video = VIDEO_ID.test(id)
    ? ((await context().store.getVideo(id)) ?? (id === DEMO_VIDEO_ID ? await createDemo() : undefined))
    : undefined;
  if (!video) throw new AppError('NOT_FOUND', `no video ${id.slice(0, 64)}`);
  return video;
}

export async function getVideo(id: string): Promise<TVideo> {
  const video = await findVideo(id);
  const viewers = video.status === 'live' ? await context().dispatcher.viewers(videoTopic(id)) : 0;
  return present(video, viewers);
}

/** Creates a video the owner owns; with an Idempotency-Key, a repeat answers the same video. */
export async function createVideo(
  owner: TUser,
  input: { title: string; hlsUrl?: string | undefined },
  options: { key?: string | undefined; address: string },
): Promise<TVideo> {
  const { store, limits, config } = context();
  const once = onceFor(owner.id, options.key, ['create-video', input.title, input.hlsUrl ?? null]);
  if (input.hlsUrl !== undefined && config.nodeEnv === 'production') {
    const checked = checkHlsUrl(input.hlsUrl, { production: true });
    if (!checked.ok) throw new AppError('VALIDATION_FAILED', `body.hlsUrl ${checked.reason}`);
  }
  // The pages' Content-Security-Policy lets media come from HLS_ORIGINS only, when it is set.
  if (
    input.hlsUrl?.includes('://') &&
    config.hlsOrigins.length > 0 &&
    !config.hlsOrigins.includes(new URL(input.hlsUrl).origin)
  ) {
    throw new AppError(
      'VALIDATION_FAILED',
      `body.hlsUrl must be on one of HLS_ORIGINS: ${config.hlsOrigins.join(', ')}`,
    );
  }
  return runOnce(
    once,
    async (record) => present(await findVideo(resultOf(CreatedVideoSchema, record).id), 0),
    async () => {
      await limits.video(owner.id, options.address, await store.countUpcoming(owner.id));
      const video = await store.createVideo(
        { title: input.title, hlsUrl: input.hlsUrl ?? DEMO_HLS_URL, ownerId: owner.id, ownerName: owner.name },
        once,
      );
      return video && present(video, 0);
    },
  );
}
const CreatedVideoSchema = z.object({ id: z.string() });

export async function ownedVideo(user: TUser, id: string): Promise<StoredVideo> {
  const video = await findVideo(id);
  if (video.ownerId !== user.id) throw new AppError('FORBIDDEN', 'only the owner of this video may do that');
  return video;
}

/**
 * Moves a video forward (upcoming → live → ended; an ended video cannot go live again) and
 * publishes the new status. Each status is reached once per video, so its publish has a key of
 * its own: a repeat (the owner's retry) publishes it only if the first attempt's publish failed.
 */
export async function setStatus(user: TUser, id: string, status: Exclude<TVideoStatus, 'upcoming'>): Promise<TVideo> {
  await ownedVideo(user, id);
  const result = await context().store.setStatus(id, status);
  if (!result) throw new AppError('NOT_FOUND', `no video ${id}`);
  if (result.video.status !== status) throw new AppError('CONFLICT', 'this video has ended; it cannot go live again');
  const data = { videoId: id, status };
  const events: TPublishEvent[] = [
    { topic: videoTopic(id), type: 'status', data },
    { topic: VIDEOS_TOPIC, type: 'status', data },
  ];
  const key = `web:status:${id}:${status}`;
  if (result.changed) await publishChange(events, key, { remember: true });
  else await completePublish(events, key);
  return present(result.video, 0);
}

/** The owner's settings of a video: members-only comments on or off. */
export async function updateVideo(user: TUser, id: string, update: TUpdateVideo): Promise<TVideo> {
  await ownedVideo(user, id);
  const video = await context().store.setVideoFields(id, { membersOnlyComments: update.membersOnlyComments });
  if (!video) throw new AppError('NOT_FOUND', `no video ${id}`);
  return present(video, 0);
}

/** The studio dashboard's figures for the owner's video. */
export async function stats(user: TUser, id: string): Promise<TVideoStats> {
  const video = await ownedVideo(user, id);
  const { store, dispatcher } = context();
  const topic = videoTopic(id);
  const [viewers, activity, latency] = await Promise.all([
    dispatcher.viewersByRegion(topic),
    store.activity(id),
    dispatcher.latency(topic),
  ]);
  return { viewers, likes: video.likes, activity, latency };
}
