import {
  AppError,
  type TPublishEvent,
  type TUser,
  type TVideo,
  type TVideoStats,
  type TVideoStatus,
  videoTopic,
} from '@ovation/shared';
import { z } from 'zod';
import { context } from './context';
import { completePublish, onceFor, publishChange, resultOf, runOnce } from './idempotency';
import type { StoredVideo } from './store/store';

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

function present(video: StoredVideo, viewers: number): TVideo {
  return { ...video, viewers };
}

async function withViewers(videos: StoredVideo[]): Promise<TVideo[]> {
  const { dispatcher } = context();
  const viewers = await Promise.all(
    videos.map((v) => (v.status === 'live' ? dispatcher.viewers(videoTopic(v.id)) : 0)),
  );
  return videos.map((v, i) => present(v, viewers[i] ?? 0));
}

export async function listVideos(): Promise<TVideo[]> {
  const { store } = context();
  let videos = await store.listVideos();
  // (Also true when more than MAX_LISTED_VIDEOS newer ones push it out: then one cheap no-op.)
  if (!videos.some((v) => v.id === DEMO_VIDEO_ID) && (await store.createVideo({ ...DEMO }))) {
    videos = await store.listVideos();
  }
  return withViewers(videos);
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
  key?: string,
): Promise<TVideo> {
  const { store } = context();
  const once = onceFor(owner.id, key, ['create-video', input.title, input.hlsUrl ?? null]);
  return runOnce(
    once,
    async (record) => present(await findVideo(resultOf(CreatedVideoSchema, record).id), 0),
    async () => {
      const video = await store.createVideo(
        { title: input.title, hlsUrl: input.hlsUrl ?? DEMO_HLS_URL, ownerId: owner.id },
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
