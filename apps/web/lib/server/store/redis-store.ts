import {
  CommentSchema,
  EventIdGenerator,
  IDEMPOTENCY_TTL_MS,
  type TComment,
  type TUser,
  type TVideoStatus,
  VideoStatusSchema,
} from '@ovation/shared';
import type { Redis } from 'ioredis';
import {
  activityWindow,
  type DeleteOutcome,
  MAX_COMMENTS_PER_VIDEO,
  MAX_LISTED_VIDEOS,
  minuteOf,
  type NewVideo,
  newVideo,
  type Once,
  type ProductStore,
  type StoredVideo,
  type StoreOptions,
  videoResult,
} from './store';

/*
 * Redis layout (under `prefix`):
 *   <p>:video:<id>           HASH  title, status, hlsUrl, ownerId, createdAt, likes
 *   <p>:videos               ZSET  id -> created ms (the home page lists newest first)
 *   <p>:video:<id>:comments  LIST  comment JSON, newest at the right, trimmed to MAX_COMMENTS_PER_VIDEO
 *   <p>:owner:<userId>:videos ZSET id -> created ms (the studio's list)
 *   <p>:video:<id>:activity:<minute>  HASH  likes, comments in that minute (expires after the window)
 *   <p>:video:<id>:bans      HASH  userId -> display name
 *   <p>:once:<scope>         HASH  f (request fingerprint), r (result JSON) of a keyed write (TTL: window)
 *   <p>:published:<key>      STRING a publish with that dispatcher idempotency key went out (TTL: window)
 *   <p>:video:<id>:deleted:<commentId>  STRING tombstone of a deleted comment (TTL: window)
 * A write and its once record are one script, so a write under a key happens at most once.
 * Every value read back is validated (a Redis value crosses a process too).
 */

// KEYS: video hash, videos zset, owner zset[, once record]. ARGV: id, created ms, once ttl ms,
// fingerprint, result, then the hash's field/value pairs. 1 created, 0 id or scope taken.
const CREATE_VIDEO = `
if #KEYS == 4 and redis.call('EXISTS', KEYS[4]) == 1 then return 0 end
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('HSET', KEYS[1], unpack(ARGV, 6))
redis.call('ZADD', KEYS[2], ARGV[2], ARGV[1])
redis.call('ZADD', KEYS[3], ARGV[2], ARGV[1])
if #KEYS == 4 then
  redis.call('HSET', KEYS[4], 'f', ARGV[4], 'r', ARGV[5])
  redis.call('PEXPIRE', KEYS[4], ARGV[3])
end
return 1`;

// KEYS: video hash. ARGV: status. Moves it forward only. -1 unknown video, 1 changed, 0 not.
const SET_STATUS = `
local rank = { upcoming = 0, live = 1, ended = 2 }
local current = redis.call('HGET', KEYS[1], 'status')
if not current then return -1 end
if rank[ARGV[1]] > (rank[current] or 2) then
  redis.call('HSET', KEYS[1], 'status', ARGV[1])
  return 1
end
return 0`;

// KEYS: video hash, activity hash[, once record]. ARGV: count, activity ttl ms, once ttl ms,
// fingerprint. The new total; 0 unknown video; -1 scope taken (nothing added).
const ADD_LIKES = `
if #KEYS == 3 and redis.call('EXISTS', KEYS[3]) == 1 then return -1 end
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
local total = redis.call('HINCRBY', KEYS[1], 'likes', ARGV[1])
redis.call('HINCRBY', KEYS[2], 'likes', ARGV[1])
redis.call('PEXPIRE', KEYS[2], ARGV[2])
if #KEYS == 3 then
  redis.call('HSET', KEYS[3], 'f', ARGV[4], 'r', '{"total":' .. total .. ',"count":' .. ARGV[1] .. '}')
  redis.call('PEXPIRE', KEYS[3], ARGV[3])
end
return total`;

// KEYS: comments list, activity hash[, once record]. ARGV: comment JSON, max comments,
// activity ttl ms, once ttl ms, fingerprint. 1 stored, 0 scope taken.
const ADD_COMMENT = `
if #KEYS == 3 and redis.call('EXISTS', KEYS[3]) == 1 then return 0 end
redis.call('RPUSH', KEYS[1], ARGV[1])
redis.call('LTRIM', KEYS[1], -tonumber(ARGV[2]), -1)
redis.call('HINCRBY', KEYS[2], 'comments', 1)
redis.call('PEXPIRE', KEYS[2], ARGV[3])
if #KEYS == 3 then
  redis.call('HSET', KEYS[3], 'f', ARGV[5], 'r', ARGV[1])
  redis.call('PEXPIRE', KEYS[3], ARGV[4])
end
return 1`;

type Script = (numberOfKeys: number, ...keysAndArgs: Array<string | number>) => Promise<number>;
type WithScripts = Redis & {
  ovationWebCreateVideo: Script;
  ovationWebSetStatus: Script;
  ovationWebAddLikes: Script;
  ovationWebAddComment: Script;
};

export class RedisStore implements ProductStore {
  private readonly ids = new EventIdGenerator('web');
  private readonly redis: WithScripts;
  private readonly ttlMs: number;

  constructor(
    redis: Redis,
    private readonly prefix: string,
    options: StoreOptions = {},
  ) {
    if (!('ovationWebAddComment' in redis)) {
      redis.defineCommand('ovationWebCreateVideo', { lua: CREATE_VIDEO });
      redis.defineCommand('ovationWebSetStatus', { lua: SET_STATUS });
      redis.defineCommand('ovationWebAddLikes', { lua: ADD_LIKES });
      redis.defineCommand('ovationWebAddComment', { lua: ADD_COMMENT });
    }
    this.redis = redis as WithScripts;
    this.ttlMs = options.idempotencyTtlMs ?? IDEMPOTENCY_TTL_MS;
  }

  private videoKey = (id: string) => `${this.prefix}:video:${id}`;
  private commentsKey = (id: string) => `${this.prefix}:video:${id}:comments`;
  private listKey = () => `${this.prefix}:videos`;
  private ownerKey = (ownerId: string) => `${this.prefix}:owner:${ownerId}:videos`;
  private activityKey = (id: string, minute: number) => `${this.prefix}:video:${id}:activity:${minute}`;
  private bansKey = (id: string) => `${this.prefix}:video:${id}:bans`;
  private onceKey = (scope: string) => `${this.prefix}:once:${scope}`;
  private receiptKey = (key: string) => `${this.prefix}:published:${key}`;
  private tombstoneKey = (videoId: string, commentId: string) => `${this.prefix}:video:${videoId}:deleted:${commentId}`;

  async createVideo(input: NewVideo, once?: Once) {
    const now = new Date();
    const video = newVideo(input, now);
    const keys = [this.videoKey(video.id), this.listKey(), this.ownerKey(video.ownerId)];
    if (once) keys.push(this.onceKey(once.scope));
    const fields = Object.entries({ ...video, likes: '0' }).flat();
    const created = await this.redis.ovationWebCreateVideo(
      keys.length,
      ...keys,
      video.id,
      now.getTime(),
      this.ttlMs,
      once?.fingerprint ?? '',
      videoResult(video.id),
      ...fields,
    );
    return created === 1 ? video : undefined;
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
    const changed = await this.redis.ovationWebSetStatus(1, this.videoKey(id), status);
    if (changed === -1) return undefined;
    const video = await this.getVideo(id);
    return video ? { video, changed: changed === 1 } : undefined;
  }

  async addLikes(id: string, count: number, once?: Once) {
    const keys = [this.videoKey(id), this.activityKey(id, minuteOf(Date.now()))];
    if (once) keys.push(this.onceKey(once.scope));
    const total = await this.redis.ovationWebAddLikes(
      keys.length,
      ...keys,
      count,
      ACTIVITY_TTL_MS,
      this.ttlMs,
      once?.fingerprint ?? '',
    );
    return total === -1 ? undefined : total;
  }

  async addComment(videoId: string, author: TUser, text: string, once?: Once) {
    const comment: TComment = { id: this.ids.next(), videoId, author, text, at: new Date().toISOString() };
    const keys = [this.commentsKey(videoId), this.activityKey(videoId, minuteOf(Date.now()))];
    if (once) keys.push(this.onceKey(once.scope));
    const stored = await this.redis.ovationWebAddComment(
      keys.length,
      ...keys,
      JSON.stringify(comment),
      MAX_COMMENTS_PER_VIDEO,
      ACTIVITY_TTL_MS,
      this.ttlMs,
      once?.fingerprint ?? '',
    );
    return stored === 1 ? comment : undefined;
  }

  async listComments(videoId: string, limit: number) {
    const raw = await this.redis.lrange(this.commentsKey(videoId), -limit, -1);
    return raw.flatMap((entry) => {
      const parsed = CommentSchema.safeParse(safeJson(entry));
      return parsed.success ? [parsed.data] : [];
    });
  }

  async hasComment(videoId: string, commentId: string) {
    return (await this.findComment(videoId, commentId)) !== undefined;
  }

  async deleteComment(videoId: string, commentId: string): Promise<DeleteOutcome> {
    const tombstone = this.tombstoneKey(videoId, commentId);
    const entry = await this.findComment(videoId, commentId);
    if (entry === undefined) return (await this.redis.exists(tombstone)) === 1 ? 'gone' : 'missing';
    const replies = await this.redis
      .multi()
      .lrem(this.commentsKey(videoId), 1, entry)
      .set(tombstone, '1', 'PX', this.ttlMs)
      .exec();
    // 0 removed: a concurrent delete took it first (and published).
    return Number(replies?.[0]?.[1] ?? 0) > 0 ? 'deleted' : 'gone';
  }

  /** The stored entry (exact JSON, for LREM) of a comment; the list holds at most 500. */
  private async findComment(videoId: string, commentId: string): Promise<string | undefined> {
    const raw = await this.redis.lrange(this.commentsKey(videoId), 0, -1);
    return raw.find((e) => (safeJson(e) as { id?: string } | undefined)?.id === commentId);
  }

  async recall(scope: string) {
    const record = await this.redis.hgetall(this.onceKey(scope));
    return record.f !== undefined && record.r !== undefined ? { fingerprint: record.f, result: record.r } : undefined;
  }

  async wasPublished(key: string) {
    return (await this.redis.exists(this.receiptKey(key))) === 1;
  }

  async notePublished(key: string) {
    await this.redis.set(this.receiptKey(key), '1', 'PX', this.ttlMs);
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

  async ping() {
    await this.redis.ping();
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
