import {
  CommentSchema,
  EventIdGenerator,
  IDEMPOTENCY_TTL_MS,
  type TUser,
  type TVideoStatus,
  VideoStatusSchema,
} from '@ovation/shared';
import type { Redis } from 'ioredis';
import {
  activityWindow,
  BAN_ADDRESS_TTL_MS,
  type DeleteOutcome,
  MAX_ADDRESSES_PER_USER,
  MAX_COMMENTS_PER_VIDEO,
  MAX_LISTED_VIDEOS,
  minuteOf,
  type NewVideo,
  newComment,
  newVideo,
  type Once,
  type ProductStore,
  type StoredVideo,
  type StoreOptions,
  USER_ADDRESS_TTL_MS,
  type VideoIndex,
  type VideoKey,
  videoResult,
} from './store';

/*
 * Redis layout (under `prefix`):
 *   <p>:video:<id>           HASH  title, status, hlsUrl, ownerId, ownerName, createdAt, likes
 *   <p>:videos               ZSET  id -> created ms (every video, newest first)
 *   <p>:videos:live, <p>:videos:ended  ZSET  id -> created ms: the list's pages, one index per status
 *   <p>:owner:<userId>:upcoming  ZSET  id -> created ms: the owner's upcoming videos (listed to them only)
 *   <p>:indexed              STRING the status indexes hold every video (backfilled once for older data)
 *   <p>:video:<id>:comments  LIST  comment JSON, newest at the right, trimmed to MAX_COMMENTS_PER_VIDEO
 *   <p>:owner:<userId>:videos ZSET id -> created ms (the studio's list)
 *   <p>:video:<id>:activity:<minute>  HASH  likes, comments in that minute (expires after the window)
 *   <p>:video:<id>:bans      HASH  userId -> display name
 *   <p>:once:<scope>         HASH  f (request fingerprint), r (result JSON) of a keyed write (TTL: window)
 *   <p>:published:<key>      STRING a publish with that dispatcher idempotency key went out (TTL: window)
 *   <p>:video:<id>:deleted:<commentId>  STRING tombstone of a deleted comment (TTL: window)
 *   <p>:video:<id>:ban-addr:<address>   STRING the banned user whose address it is (TTL: BAN_ADDRESS_TTL_MS)
 *   <p>:video:<id>:ban-addrs:<userId>   SET   the addresses that user's ban barred (same TTL)
 *   <p>:user:<id>:addrs      ZSET  address -> last seen ms, the newest few (TTL: USER_ADDRESS_TTL_MS)
 *   <p>:revoked:<sessionId>  STRING a signed-out session (expires with the session)
 * A write and its once record are one script, so a write under a key happens at most once.
 * Every value read back is validated (a Redis value crosses a process too).
 */

// KEYS: video hash, videos zset, owner zset, its status index[, once record]. ARGV: id, created ms,
// once ttl ms, fingerprint, result, then the hash's field/value pairs. 1 created, 0 id or scope taken.
const CREATE_VIDEO = `
if #KEYS == 5 and redis.call('EXISTS', KEYS[5]) == 1 then return 0 end
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('HSET', KEYS[1], unpack(ARGV, 6))
redis.call('ZADD', KEYS[2], ARGV[2], ARGV[1])
redis.call('ZADD', KEYS[3], ARGV[2], ARGV[1])
redis.call('ZADD', KEYS[4], ARGV[2], ARGV[1])
if #KEYS == 5 then
  redis.call('HSET', KEYS[5], 'f', ARGV[4], 'r', ARGV[5])
  redis.call('PEXPIRE', KEYS[5], ARGV[3])
end
return 1`;

// KEYS: video hash, videos zset, owner's upcoming index, live index, ended index. ARGV: status, id.
// Moves it forward only, from one index to the next. -1 unknown video, 1 changed, 0 not.
const SET_STATUS = `
local rank = { upcoming = 0, live = 1, ended = 2 }
local current = redis.call('HGET', KEYS[1], 'status')
if not current then return -1 end
if rank[ARGV[1]] > (rank[current] or 2) then
  redis.call('HSET', KEYS[1], 'status', ARGV[1])
  local score = redis.call('ZSCORE', KEYS[2], ARGV[2]) or '0'
  redis.call('ZREM', KEYS[3], ARGV[2])
  redis.call('ZREM', KEYS[4], ARGV[2])
  if ARGV[1] == 'live' then redis.call('ZADD', KEYS[4], score, ARGV[2]) else redis.call('ZADD', KEYS[5], score, ARGV[2]) end
  return 1
end
return 0`;

// KEYS: an index. ARGV: limit, after's score ('' from the start), after's id. Ids in list order
// (score then id, both descending, as ZREVRANGE orders ties) strictly after (score, id).
const PAGE_VIDEOS = `
local limit = tonumber(ARGV[1])
if ARGV[2] == '' then return redis.call('ZREVRANGE', KEYS[1], 0, limit - 1) end
local ties = redis.call('ZCOUNT', KEYS[1], ARGV[2], ARGV[2])
local got = redis.call('ZREVRANGEBYSCORE', KEYS[1], ARGV[2], '-inf', 'WITHSCORES', 'LIMIT', 0, limit + ties)
local out = {}
local after = tonumber(ARGV[2])
for i = 1, #got, 2 do
  if tonumber(got[i + 1]) < after or got[i] < ARGV[3] then
    out[#out + 1] = got[i]
    if #out == limit then break end
  end
end
return out`;

// KEYS: bans hash, the user's ban-addrs set, then each of those address keys. ARGV: user id.
// Frees only the addresses that still name this user. 1 the user was banned, 0 not.
const UNBAN = `
for i = 3, #KEYS do
  if redis.call('GET', KEYS[i]) == ARGV[1] then redis.call('DEL', KEYS[i]) end
end
redis.call('DEL', KEYS[2])
return redis.call('HDEL', KEYS[1], ARGV[1])`;

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
  ovationWebPageVideos: (numberOfKeys: number, ...keysAndArgs: Array<string | number>) => Promise<string[]>;
  ovationWebUnban: Script;
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
    if (!('ovationWebUnban' in redis)) {
      redis.defineCommand('ovationWebPageVideos', { lua: PAGE_VIDEOS });
      redis.defineCommand('ovationWebUnban', { lua: UNBAN });
    }
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
  private upcomingKey = (ownerId: string) => `${this.prefix}:owner:${ownerId}:upcoming`;
  private statusKey = (status: 'live' | 'ended') => `${this.prefix}:videos:${status}`;
  private indexedKey = () => `${this.prefix}:indexed`;
  private banAddressKey = (videoId: string, address: string) => `${this.prefix}:video:${videoId}:ban-addr:${address}`;
  private banAddressesKey = (videoId: string, userId: string) => `${this.prefix}:video:${videoId}:ban-addrs:${userId}`;
  private addressesKey = (userId: string) => `${this.prefix}:user:${userId}:addrs`;
  private revokedKey = (sessionId: string) => `${this.prefix}:revoked:${sessionId}`;
  /** The status indexes' one-time backfill, per process (see indexVideos). */
  private indexed: Promise<void> | undefined;

  private indexKey(index: VideoIndex): string {
    return 'status' in index ? this.statusKey(index.status) : this.upcomingKey(index.upcomingOf);
  }
  private activityKey = (id: string, minute: number) => `${this.prefix}:video:${id}:activity:${minute}`;
  private bansKey = (id: string) => `${this.prefix}:video:${id}:bans`;
  private onceKey = (scope: string) => `${this.prefix}:once:${scope}`;
  private receiptKey = (key: string) => `${this.prefix}:published:${key}`;
  private tombstoneKey = (videoId: string, commentId: string) => `${this.prefix}:video:${videoId}:deleted:${commentId}`;

  async createVideo(input: NewVideo, once?: Once) {
    const now = new Date();
    const video = newVideo(input, now);
    const index = video.status === 'upcoming' ? this.upcomingKey(video.ownerId) : this.statusKey(video.status);
    const keys = [this.videoKey(video.id), this.listKey(), this.ownerKey(video.ownerId), index];
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
    return this.videosById(await this.redis.zrevrange(listKey, 0, MAX_LISTED_VIDEOS - 1));
  }

  private async videosById(ids: string[]): Promise<StoredVideo[]> {
    if (ids.length === 0) return [];
    const pipeline = this.redis.pipeline();
    for (const id of ids) pipeline.hgetall(this.videoKey(id));
    const replies = (await pipeline.exec()) ?? [];
    return ids.flatMap((id, i) => {
      const video = parseVideo(id, (replies[i]?.[1] ?? {}) as Record<string, string>);
      return video ? [video] : [];
    });
  }

  async pageVideos(index: VideoIndex, limit: number, after?: VideoKey) {
    await this.indexVideos();
    const ids = await this.redis.ovationWebPageVideos(
      1,
      this.indexKey(index),
      limit,
      after ? String(after.createdMs) : '',
      after?.id ?? '',
    );
    const videos = await this.videosById(ids);
    // An index entry a concurrent backfill left behind a status change is skipped, never shown.
    const wanted = 'status' in index ? index.status : 'upcoming';
    return videos.filter((v) => v.status === wanted);
  }

  async countUpcoming(ownerId: string) {
    await this.indexVideos();
    return this.redis.zcard(this.upcomingKey(ownerId));
  }

  /**
   * Videos stored before the status indexes existed are added to them once (a store that has the
   * `indexed` marker needs nothing); O(videos) once per store, never per request.
   */
  private indexVideos(): Promise<void> {
    this.indexed ??= (async () => {
      if ((await this.redis.exists(this.indexedKey())) === 1) return;
      const all = await this.redis.zrange(this.listKey(), '0', '-1', 'WITHSCORES');
      const read = this.redis.pipeline();
      for (let i = 0; i < all.length; i += 2) read.hmget(this.videoKey(all[i] as string), 'status', 'ownerId');
      const replies = (await read.exec()) ?? [];
      const write = this.redis.pipeline();
      replies.forEach((reply, j) => {
        const [status, ownerId] = (reply[1] ?? []) as Array<string | null>;
        const id = all[j * 2] as string;
        const score = all[j * 2 + 1] as string;
        if (status === 'live' || status === 'ended') write.zadd(this.statusKey(status), score, id);
        else if (status === 'upcoming' && ownerId) write.zadd(this.upcomingKey(ownerId), score, id);
      });
      write.set(this.indexedKey(), '1');
      await write.exec();
    })().catch((error: unknown) => {
      this.indexed = undefined; // tried again by the next request
      throw error;
    });
    return this.indexed;
  }

  async setStatus(id: string, status: TVideoStatus) {
    const ownerId = await this.redis.hget(this.videoKey(id), 'ownerId');
    if (ownerId === null) return undefined;
    const changed = await this.redis.ovationWebSetStatus(
      5,
      this.videoKey(id),
      this.listKey(),
      this.upcomingKey(ownerId),
      this.statusKey('live'),
      this.statusKey('ended'),
      status,
      id,
    );
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

  async addComment(videoId: string, author: TUser, text: string, once?: Once, owner = false) {
    const comment = newComment(this.ids.next(), videoId, author, text, owner);
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

  async ban(videoId: string, user: TUser, addresses: readonly string[] = []) {
    const multi = this.redis.multi().hset(this.bansKey(videoId), user.id, user.name);
    if (addresses.length > 0) {
      const set = this.banAddressesKey(videoId, user.id);
      for (const address of addresses) {
        multi.set(this.banAddressKey(videoId, address), user.id, 'PX', BAN_ADDRESS_TTL_MS);
      }
      multi
        .del(set)
        .sadd(set, ...addresses)
        .pexpire(set, BAN_ADDRESS_TTL_MS);
    }
    await multi.exec();
  }

  async unban(videoId: string, userId: string) {
    const set = this.banAddressesKey(videoId, userId);
    const addresses = await this.redis.smembers(set);
    const keys = [this.bansKey(videoId), set, ...addresses.map((a) => this.banAddressKey(videoId, a))];
    return (await this.redis.ovationWebUnban(keys.length, ...keys, userId)) > 0;
  }

  async isAddressBanned(videoId: string, address: string) {
    return (await this.redis.exists(this.banAddressKey(videoId, address))) === 1;
  }

  async noteAddress(userId: string, address: string) {
    const key = this.addressesKey(userId);
    await this.redis
      .multi()
      .zadd(key, Date.now(), address)
      .zremrangebyrank(key, 0, -(MAX_ADDRESSES_PER_USER + 1))
      .pexpire(key, USER_ADDRESS_TTL_MS)
      .exec();
  }

  async recentAddresses(userId: string) {
    return this.redis.zrevrange(this.addressesKey(userId), 0, -1);
  }

  async revokeSession(sessionId: string, expiresAtMs: number) {
    if (expiresAtMs > Date.now()) await this.redis.set(this.revokedKey(sessionId), '1', 'PXAT', expiresAtMs);
  }

  async isSessionRevoked(sessionId: string) {
    return (await this.redis.exists(this.revokedKey(sessionId))) === 1;
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
    ownerName: hash.ownerName ?? '',
    createdAt: hash.createdAt ?? new Date(0).toISOString(),
    likes: Number(hash.likes ?? 0) || 0,
  };
}
