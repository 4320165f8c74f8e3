import {
  CommentSchema,
  EventIdGenerator,
  type TComment,
  type TUser,
  type TVideoStatus,
  VideoStatusSchema,
} from '@ovation/shared';
import type { Redis } from 'ioredis';
import {
  activityWindow,
  MAX_COMMENTS_PER_VIDEO,
  MAX_LISTED_VIDEOS,
  minuteOf,
  type NewVideo,
  newVideo,
  type ProductStore,
  type StoredVideo,
} from './store';

/*
 * Redis layout (under `prefix`):
 *   <p>:video:<id>           HASH  title, status, hlsUrl, ownerId, createdAt, likes
 *   <p>:videos               ZSET  id -> created ms (the home page lists newest first)
 *   <p>:video:<id>:comments  LIST  comment JSON, newest at the right, trimmed to MAX_COMMENTS_PER_VIDEO
 *   <p>:owner:<userId>:videos ZSET id -> created ms (the studio's list)
 *   <p>:video:<id>:activity:<minute>  HASH  likes, comments in that minute (expires after the window)
 *   <p>:video:<id>:bans      HASH  userId -> display name
 * Every value read back is validated (a Redis value crosses a process too).
 */
export class RedisStore implements ProductStore {
  private readonly ids = new EventIdGenerator('web');

  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
  ) {}

  private videoKey = (id: string) => `${this.prefix}:video:${id}`;
  private commentsKey = (id: string) => `${this.prefix}:video:${id}:comments`;
  private listKey = () => `${this.prefix}:videos`;
  private ownerKey = (ownerId: string) => `${this.prefix}:owner:${ownerId}:videos`;
  private activityKey = (id: string, minute: number) => `${this.prefix}:video:${id}:activity:${minute}`;
  private bansKey = (id: string) => `${this.prefix}:video:${id}:bans`;

  async createVideo(input: NewVideo) {
    const now = new Date();
    const video = newVideo(input, now);
    await this.redis
      .multi()
      .hset(this.videoKey(video.id), { ...video, likes: '0' })
      .zadd(this.listKey(), now.getTime(), video.id)
      .zadd(this.ownerKey(video.ownerId), now.getTime(), video.id)
      .exec();
    return video;
  }

  async getVideo(id: string) {
    return parseVideo(id, await this.redis.hgetall(this.videoKey(id)));
  }

  async listVideos() {
    return this.videosIn(this.listKey());
  }

  async listVideosByOwner(ownerId: string) {
    return this.videosIn(this.ownerKey(ownerId));
  }

  private async videosIn(listKey: string) {
    const ids = await this.redis.zrevrange(listKey, 0, MAX_LISTED_VIDEOS - 1);
    if (ids.length === 0) return [];
    const pipeline = this.redis.pipeline();
    for (const id of ids) pipeline.hgetall(this.videoKey(id));
    const replies = (await pipeline.exec()) ?? [];
    return ids.flatMap((id, i) => {
      const video = parseVideo(id, (replies[i]?.[1] ?? {}) as Record<string, string>);
      return video ? [video] : [];
    });
  }

  async setStatus(id: string, status: TVideoStatus) {
    if (!(await this.redis.exists(this.videoKey(id)))) return undefined;
    await this.redis.hset(this.videoKey(id), 'status', status);
    return this.getVideo(id);
  }

  async addLikes(id: string, count: number) {
    if (!(await this.redis.exists(this.videoKey(id)))) return 0;
    const activity = this.activityKey(id, minuteOf(Date.now()));
    const replies = await this.redis
      .multi()
      .hincrby(this.videoKey(id), 'likes', count)
      .hincrby(activity, 'likes', count)
      .pexpire(activity, ACTIVITY_TTL_MS)
      .exec();
    return Number(replies?.[0]?.[1] ?? 0);
  }

  async addComment(videoId: string, author: TUser, text: string) {
    const activity = this.activityKey(videoId, minuteOf(Date.now()));
    const comment: TComment = { id: this.ids.next(), videoId, author, text, at: new Date().toISOString() };
    await this.redis
      .multi()
      .rpush(this.commentsKey(videoId), JSON.stringify(comment))
      .ltrim(this.commentsKey(videoId), -MAX_COMMENTS_PER_VIDEO, -1)
      .hincrby(activity, 'comments', 1)
      .pexpire(activity, ACTIVITY_TTL_MS)
      .exec();
    return comment;
  }

  async listComments(videoId: string, limit: number) {
    const raw = await this.redis.lrange(this.commentsKey(videoId), -limit, -1);
    return raw.flatMap((entry) => {
      const parsed = CommentSchema.safeParse(safeJson(entry));
      return parsed.success ? [parsed.data] : [];
    });
  }

  async deleteComment(videoId: string, commentId: string) {
    const raw = await this.redis.lrange(this.commentsKey(videoId), 0, -1);
    const entry = raw.find((e) => (safeJson(e) as { id?: string } | undefined)?.id === commentId);
    if (!entry) return false;
    return (await this.redis.lrem(this.commentsKey(videoId), 1, entry)) > 0;
  }

  async activity(videoId: string, now = Date.now()) {
    const minutes = activityWindow(now);
    const pipeline = this.redis.pipeline();
    for (const minute of minutes) pipeline.hmget(this.activityKey(videoId, minute), 'likes', 'comments');
    const replies = (await pipeline.exec()) ?? [];
    return minutes.map((minute, i) => {
      const [likes, comments] = (replies[i]?.[1] ?? []) as Array<string | null>;
      return { minute, likes: Number(likes ?? 0) || 0, comments: Number(comments ?? 0) || 0 };
    });
  }

  async ban(videoId: string, user: TUser) {
    await this.redis.hset(this.bansKey(videoId), user.id, user.name);
  }

  async unban(videoId: string, userId: string) {
    return (await this.redis.hdel(this.bansKey(videoId), userId)) > 0;
  }

  async isBanned(videoId: string, userId: string) {
    return (await this.redis.hexists(this.bansKey(videoId), userId)) === 1;
  }

  async listBans(videoId: string) {
    const bans = await this.redis.hgetall(this.bansKey(videoId));
    return Object.entries(bans).map(([id, name]) => ({ id, name }));
  }

  async close() {}
}

/** An activity minute outlives the chart window a little. */
const ACTIVITY_TTL_MS = 11 * 60_000;

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function parseVideo(id: string, hash: Record<string, string>): StoredVideo | undefined {
  if (!hash.title) return undefined;
  const status = VideoStatusSchema.safeParse(hash.status);
  return {
    id,
    title: hash.title,
    status: status.success ? status.data : 'ended',
    hlsUrl: hash.hlsUrl ?? '',
    ownerId: hash.ownerId ?? '',
    createdAt: hash.createdAt ?? new Date(0).toISOString(),
    likes: Number(hash.likes ?? 0) || 0,
  };
}
