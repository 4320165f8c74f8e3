import {
  AppError,
  type TBanRequest,
  type TComment,
  type TUser,
  type TVideo,
  type TVideoStats,
  type TVideoStatus,
  videoTopic,
} from '@ovation/shared';
import { context } from './context';
import type { StoredVideo } from './store/store';

/*
 * The product's domain: what route handlers call. Each change is stored first, then published on
 * the video's topic (`video:<id>`) so every viewer sees it.
 */

export const DEMO_VIDEO_ID = 'demo';
/** Users one video may ban (the list is loaded whole by the studio). */
export const MAX_BANS_PER_VIDEO = 1000;
/** Every status change is also published here, so lists (the home page) update at once. */
export const VIDEOS_TOPIC = 'videos';
export const DEMO_HLS_URL = '/demo/live.m3u8';
const VIDEO_ID = /^[A-Za-z0-9_-]{1,64}$/;
let demoReady: Promise<void> | undefined;

/** The bundled demo stream is a video that is always there and live. */
function ensureDemo(): Promise<void> {
  demoReady ??= (async () => {
    const { store } = context();
    if (!(await store.getVideo(DEMO_VIDEO_ID))) {
      await store.createVideo({
        id: DEMO_VIDEO_ID,
        title: 'Ovation demo — test pattern, live',
        hlsUrl: DEMO_HLS_URL,
        ownerId: 'system',
        status: 'live',
      });
    }
  })().catch((error: unknown) => {
    demoReady = undefined;
    throw error;
  });
  return demoReady;
}

function present(video: StoredVideo, viewers: number): TVideo {
  return { ...video, viewers };
}

export async function listVideos(): Promise<TVideo[]> {
  await ensureDemo();
  const { store, dispatcher } = context();
  const videos = await store.listVideos();
  const viewers = await Promise.all(
    videos.map((v) => (v.status === 'live' ? dispatcher.viewers(videoTopic(v.id)) : 0)),
  );
  return videos.map((v, i) => present(v, viewers[i] ?? 0));
}

/** The signed-in user's own videos (every status), newest first, with live viewer counts. */
export async function listMyVideos(user: TUser): Promise<TVideo[]> {
  const { store, dispatcher } = context();
  const videos = await store.listVideosByOwner(user.id);
  const viewers = await Promise.all(
    videos.map((v) => (v.status === 'live' ? dispatcher.viewers(videoTopic(v.id)) : 0)),
  );
  return videos.map((v, i) => present(v, viewers[i] ?? 0));
}

export async function findVideo(id: string): Promise<StoredVideo> {
  await ensureDemo();
  const video = VIDEO_ID.test(id) ? await context().store.getVideo(id) : undefined;
  if (!video) throw new AppError('NOT_FOUND', `no video ${id.slice(0, 64)}`);
  return video;
}

export async function getVideo(id: string): Promise<TVideo> {
  const video = await findVideo(id);
  const viewers = video.status === 'live' ? await context().dispatcher.viewers(videoTopic(id)) : 0;
  return present(video, viewers);
}

export async function createVideo(
  owner: TUser,
  input: { title: string; hlsUrl?: string | undefined },
): Promise<TVideo> {
  const video = await context().store.createVideo({
    title: input.title,
    hlsUrl: input.hlsUrl ?? DEMO_HLS_URL,
    ownerId: owner.id,
  });
  return present(video, 0);
}

async function ownedVideo(user: TUser, id: string): Promise<StoredVideo> {
  const video = await findVideo(id);
  if (video.ownerId !== user.id) throw new AppError('FORBIDDEN', 'only the owner of this video may do that');
  return video;
}

export async function setStatus(user: TUser, id: string, status: Exclude<TVideoStatus, 'upcoming'>): Promise<TVideo> {
  await ownedVideo(user, id);
  const video = await context().store.setStatus(id, status);
  if (!video) throw new AppError('NOT_FOUND', `no video ${id}`);
  const data = { videoId: id, status };
  await context().dispatcher.publish([
    { topic: videoTopic(id), type: 'status', data },
    { topic: VIDEOS_TOPIC, type: 'status', data },
  ]);
  return present(video, 0);
}

export async function like(user: TUser, id: string, count: number): Promise<{ total: number }> {
  const { limits, store, dispatcher } = context();
  await limits.like(user.id, count);
  const video = await findVideo(id);
  if (video.status !== 'live') throw new AppError('CONFLICT', 'this video is not live');
  const total = await store.addLikes(id, count);
  await dispatcher.publish([
    { topic: videoTopic(id), type: 'like', data: { count, total, sample: [{ id: user.id, name: user.name }] } },
  ]);
  return { total };
}

export async function comment(user: TUser, id: string, text: string): Promise<TComment> {
  const { limits, store, dispatcher } = context();
  const video = await findVideo(id);
  if (await store.isBanned(id, user.id)) {
    throw new AppError('BANNED', 'the broadcaster has stopped you from commenting on this video');
  }
  await limits.comment(user.id);
  if (video.status === 'ended') throw new AppError('CONFLICT', 'this video has ended');
  const saved = await store.addComment(id, user, text);
  await dispatcher.publish([{ topic: videoTopic(id), type: 'comment', data: saved }]);
  return saved;
}

export async function listComments(id: string, limit: number): Promise<TComment[]> {
  await findVideo(id);
  return context().store.listComments(id, limit);
}

export async function deleteComment(user: TUser, id: string, commentId: string): Promise<void> {
  await ownedVideo(user, id);
  if (!(await context().store.deleteComment(id, commentId))) {
    throw new AppError('NOT_FOUND', `no comment ${commentId.slice(0, 64)} on video ${id}`);
  }
  await context().dispatcher.publish([
    { topic: videoTopic(id), type: 'comment_deleted', data: { id: commentId, videoId: id } },
  ]);
}

/** Bars a user from commenting on the owner's video. */
export async function ban(user: TUser, id: string, target: TBanRequest): Promise<TUser> {
  await ownedVideo(user, id);
  if (target.userId === user.id) throw new AppError('VALIDATION_FAILED', 'body.userId: you cannot ban yourself');
  const { store } = context();
  const bans = await store.listBans(id);
  if (bans.length >= MAX_BANS_PER_VIDEO && !bans.some((b) => b.id === target.userId)) {
    throw new AppError('CONFLICT', `a video can ban at most ${MAX_BANS_PER_VIDEO} users; unban someone first`);
  }
  const banned = { id: target.userId, name: target.name };
  await store.ban(id, banned);
  return banned;
}

export async function unban(user: TUser, id: string, userId: string): Promise<void> {
  await ownedVideo(user, id);
  if (!(await context().store.unban(id, userId))) {
    throw new AppError('NOT_FOUND', `user ${userId.slice(0, 64)} is not banned from video ${id}`);
  }
}

export async function listBans(user: TUser, id: string): Promise<TUser[]> {
  await ownedVideo(user, id);
  return context().store.listBans(id);
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
