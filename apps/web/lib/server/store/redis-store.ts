import {
  COUNTED_REACTIONS,
  CommentSchema,
  EventIdGenerator,
  IDEMPOTENCY_TTL_MS,
  reactionTotals,
  type TReaction,
  type TUser,
  type TVideoStatus,
  VideoStatusSchema,
} from '@ovation/shared';
import { isCluster, type RedisClient } from '@ovation/shared/redis';
import { z } from 'zod';
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
  type VideoFields,
  type VideoIndex,
  type VideoKey,
  videoResult,
} from './store';

/*
 * Redis layout (under `prefix` <p>). Keys in braces share a hash tag, so on a Redis Cluster they
 * live in one slot, and every script below holds keys of ONE tag:
 *
 *   a video, {v:<id>}:
 *     <p>:{v:<id>}                   HASH   title, status, hlsUrl, ownerId, ownerName, createdAt, likes,
 *                                           likes:<reaction> (each but `like`, which is the rest),
 *                                           membersOnly ("1" when only accounts may comment),
 *                                           stream, streamKey, ingestSession, ingestHealth,
 *                                           ingestReportedAt (the ingest's; store.ts StoredVideo)
 *     <p>:ingest-keys                HASH   SHA-256 of a stream key -> video id
 *     <p>:{v:<id>}:comments          LIST   comment JSON, newest at the right, trimmed to MAX_COMMENTS_PER_VIDEO
 *     <p>:{v:<id>}:activity:<minute> HASH   likes, comments in that minute (expires after the window)
 *     <p>:{v:<id>}:bans              HASH   userId -> display name
 *     <p>:{v:<id>}:deleted:<commentId>  STRING tombstone of a deleted comment (TTL: window)
 *     <p>:{v:<id>}:ban-addr:<address>   STRING the banned user whose address it is (TTL: BAN_ADDRESS_TTL_MS)
 *     <p>:{v:<id>}:ban-addrs:<userId>   SET    the addresses that user's ban barred (same TTL)
 *     <p>:{v:<id>}:once:<scope>      HASH   f (request fingerprint), r (result JSON) of a keyed write
 *                                           about this video (TTL: window); a keyed create's video id
 *                                           comes from its scope (keyedVideoId)
 *   the lists, {videos} (one slot: small sorted sets of ids):
 *     <p>:{videos}                   ZSET   id -> created ms (every video, newest first)
 *     <p>:{videos}:live, :ended      ZSET   id -> created ms: the list's pages, one index per status
 *     <p>:{videos}:indexed           STRING the indexes hold every video (backfilled once for older data)
 *   a user, {u:<userId>}:
 *     <p>:{u:<userId>}:videos        ZSET   id -> created ms (the studio's list)
 *     <p>:{u:<userId>}:upcoming      ZSET   id -> created ms: the owner's upcoming videos (listed to them only)
 *     <p>:{u:<userId>}:addrs         ZSET   address -> last seen ms, the newest few (TTL: USER_ADDRESS_TTL_MS)
 *   one key each (any slot):
 *     <p>:published:<key>            STRING a publish with that dispatcher idempotency key went out (TTL: window)
 *     <p>:revoked:<sessionId>        STRING a signed-out session (expires with the session)
 *
 * A like, a comment, a ban, a delete and their once records are one script or MULTI on the
 * video's tag: a write under a key happens at most once, in one round trip. What spans tags — a
 * new video and a status change touch the video, the lists and the owner's lists — is done in
 * steps, each on one tag and each safe to repeat (see createVideo, setStatus):
 *
 *   create:  1. the video's hash (once: created, or found: a repeat of the same key finishes it)
 *            2. the lists, {videos} and {u:owner}, in parallel: ZADD of the stored video (idempotent)
 *            3. a keyed create's once record, last: a repeat that finds it finds the video indexed
 *   status:  1. the video's hash moves forward     2. the lists follow the status the hash holds
 *
 * A process that dies between steps leaves a video that is not yet listed (never a list entry
 * without its video); the user's retry repeats the steps and completes it. Lists only move
 * forward (an ended video never goes back to live), so concurrent steps end where the hash is.
 * Pages skip an entry whose video's status differs (a step still on its way).
 * Every value read back is validated (a Redis value crosses a process too).
 */

// KEYS: video hash[, once record]. ARGV: owner id, then the new hash's field/value pairs.
// {0}: the once scope is taken. {1}: created. {2, hash...}: found, a keyed create's own video (a
// repeat finishes it). {3, hash...}: found, the id is taken.
const CREATE_VIDEO = `
if #KEYS == 2 and redis.call('EXISTS', KEYS[2]) == 1 then return {0} end
if redis.call('EXISTS', KEYS[1]) == 0 then
  redis.call('HSET', KEYS[1], unpack(ARGV, 2))
  return {1}
end
local found = redis.call('HGETALL', KEYS[1])
local mine = #KEYS == 2 and redis.call('HGET', KEYS[1], 'ownerId') == ARGV[1]
table.insert(found, 1, mine and 2 or 3)
return found`;

// KEYS: every video, live index, ended index. ARGV: id, created ms, status. A video is listed, and
// in the index of its status — never back in live once ended. Idempotent.
const LIST_VIDEO = `
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[1])
if ARGV[3] == 'live' then
  if not redis.call('ZSCORE', KEYS[3], ARGV[1]) then redis.call('ZADD', KEYS[2], ARGV[2], ARGV[1]) end
elseif ARGV[3] == 'ended' then
  redis.call('ZREM', KEYS[2], ARGV[1])
  redis.call('ZADD', KEYS[3], ARGV[2], ARGV[1])
end
return 1`;

// KEYS: the owner's videos, their upcoming index. ARGV: id, created ms, status. Idempotent.
const LIST_OWNED = `
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[1])
if ARGV[3] == 'upcoming' then redis.call('ZADD', KEYS[2], ARGV[2], ARGV[1]) else redis.call('ZREM', KEYS[2], ARGV[1]) end
return 1`;

// KEYS: video hash. ARGV: status. Moves it forward only. {-1}: unknown video; else {1 changed or
// 0 not, then the hash as it is now}.
const SET_STATUS = `
local rank = { upcoming = 0, live = 1, ended = 2 }
local current = redis.call('HGET', KEYS[1], 'status')
if not current then return {-1} end
local changed = 0
if rank[ARGV[1]] > (rank[current] or 2) then
  redis.call('HSET', KEYS[1], 'status', ARGV[1])
  changed = 1
end
local now = redis.call('HGETALL', KEYS[1])
table.insert(now, 1, changed)
return now`;

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

// KEYS: bans hash, the user's ban-addrs set, then each of those address keys (all the video's).
// ARGV: user id. Frees only the addresses that still name this user. 1 the user was banned, 0 not.
const UNBAN = `
for i = 3, #KEYS do
  if redis.call('GET', KEYS[i]) == ARGV[1] then redis.call('DEL', KEYS[i]) end
end
redis.call('DEL', KEYS[2])
return redis.call('HDEL', KEYS[1], ARGV[1])`;

// KEYS: video hash, activity hash[, once record] (all the video's). ARGV: count, activity ttl ms,
// once ttl ms, fingerprint, reaction, then the names of the reactions other than `like` (kept as
// `likes:<name>` beside the total `likes`; `like` is the rest). Returns { total, count of each
// other reaction }; { 0 } unknown video; { -1 } scope taken (nothing added).
const ADD_LIKES = `
if #KEYS == 3 and redis.call('EXISTS', KEYS[3]) == 1 then return { -1 } end
if redis.call('EXISTS', KEYS[1]) == 0 then return { 0 } end
local total = redis.call('HINCRBY', KEYS[1], 'likes', ARGV[1])
if ARGV[5] ~= 'like' then redis.call('HINCRBY', KEYS[1], 'likes:' .. ARGV[5], ARGV[1]) end
redis.call('HINCRBY', KEYS[2], 'likes', ARGV[1])
redis.call('PEXPIRE', KEYS[2], ARGV[2])
local reply, others = { total }, {}
for i = 6, #ARGV do
  local n = tonumber(redis.call('HGET', KEYS[1], 'likes:' .. ARGV[i]) or '0')
  reply[#reply + 1] = n
  others[ARGV[i]] = n
end
if #KEYS == 3 then
  local result = cjson.encode({ total = total, count = tonumber(ARGV[1]), reaction = ARGV[5], others = others })
  redis.call('HSET', KEYS[3], 'f', ARGV[4], 'r', result)
  redis.call('PEXPIRE', KEYS[3], ARGV[3])
end
return reply`;

// KEYS: comments list, activity hash[, once record] (all the video's). ARGV: comment JSON, max
// comments, activity ttl ms, once ttl ms, fingerprint. 1 stored, 0 scope taken.
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

// KEYS: video. ARGV: field, value pairs ('' removes the field). Sets the fields of a video that
// exists: 1; else 0 (HSET alone would make a hash of those fields).
const SET_IF_VIDEO = `
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
for i = 1, #ARGV, 2 do
  if ARGV[i + 1] == '' then redis.call('HDEL', KEYS[1], ARGV[i]) else redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1]) end
end
return 1`;

// KEYS: an index hash. ARGV: field, the value it must still have. Removes it if it does.
const RELEASE_IF = `
if redis.call('HGET', KEYS[1], ARGV[1]) == ARGV[2] then redis.call('HDEL', KEYS[1], ARGV[1]) end
return 1`;

type Script<R = unknown> = (numberOfKeys: number, ...keysAndArgs: Array<string | number>) => Promise<R>;
interface Scripts {
  ovationWebPageVideos: Script;
  ovationWebUnban: Script;
  ovationWebCreateVideo: Script;
  ovationWebListVideo: Script;
  ovationWebListOwned: Script;
  ovationWebSetStatus: Script;
  ovationWebAddLikes: Script;
  ovationWebAddComment: Script;
  ovationWebSetIfVideo: Script;
  ovationWebReleaseIf: Script;
}
const SCRIPTS: Record<keyof Scripts, string> = {
  ovationWebPageVideos: PAGE_VIDEOS,
  ovationWebUnban: UNBAN,
  ovationWebCreateVideo: CREATE_VIDEO,
  ovationWebListVideo: LIST_VIDEO,
  ovationWebListOwned: LIST_OWNED,
  ovationWebSetStatus: SET_STATUS,
  ovationWebAddLikes: ADD_LIKES,
  ovationWebAddComment: ADD_COMMENT,
  ovationWebSetIfVideo: SET_IF_VIDEO,
  ovationWebReleaseIf: RELEASE_IF,
};

export class RedisStore implements ProductStore {
  private readonly ids = new EventIdGenerator('web');
  private readonly redis: RedisClient & Scripts;
  private readonly ttlMs: number;
  /** The status indexes' one-time backfill, per process (see indexVideos). */
  private indexed: Promise<void> | undefined;

  constructor(
    redis: RedisClient,
    private readonly prefix: string,
    options: StoreOptions = {},
  ) {
    if (!('ovationWebListOwned' in redis)) {
      for (const [name, lua] of Object.entries(SCRIPTS)) redis.defineCommand(name, { lua });
    }
    this.redis = redis as RedisClient & Scripts;
    this.ttlMs = options.idempotencyTtlMs ?? IDEMPOTENCY_TTL_MS;
  }

  private videoKey = (id: string) => `${this.prefix}:{v:${id}}`;
  private commentsKey = (id: string) => `${this.prefix}:{v:${id}}:comments`;
  private activityKey = (id: string, minute: number) => `${this.prefix}:{v:${id}}:activity:${minute}`;
  private bansKey = (id: string) => `${this.prefix}:{v:${id}}:bans`;
  private tombstoneKey = (videoId: string, commentId: string) => `${this.prefix}:{v:${videoId}}:deleted:${commentId}`;
  private banAddressKey = (videoId: string, address: string) => `${this.prefix}:{v:${videoId}}:ban-addr:${address}`;
  private banAddressesKey = (videoId: string, userId: string) => `${this.prefix}:{v:${videoId}}:ban-addrs:${userId}`;
  private onceKey = (videoId: string, scope: string) => `${this.prefix}:{v:${videoId}}:once:${scope}`;
  private listKey = () => `${this.prefix}:{videos}`;
  private streamKeysKey = () => `${this.prefix}:ingest-keys`;
  private statusKey = (status: 'live' | 'ended') => `${this.prefix}:{videos}:${status}`;
  private indexedKey = () => `${this.prefix}:{videos}:indexed`;
  private ownerKey = (ownerId: string) => `${this.prefix}:{u:${ownerId}}:videos`;
  private upcomingKey = (ownerId: string) => `${this.prefix}:{u:${ownerId}}:upcoming`;
  private addressesKey = (userId: string) => `${this.prefix}:{u:${userId}}:addrs`;
  private receiptKey = (key: string) => `${this.prefix}:published:${key}`;
  private revokedKey = (sessionId: string) => `${this.prefix}:revoked:${sessionId}`;

  private indexKey(index: VideoIndex): string {
    return 'status' in index ? this.statusKey(index.status) : this.upcomingKey(index.upcomingOf);
  }

  /**
   * Three steps on a cluster's three tags (see the top of this file), each safe to repeat: a keyed
   * create whose process died after step 1 or 2 is finished by the repeat of its request, which
   * finds the same video (its id comes from the key) and lists it again. Unkeyed, a video that
   * was stored but not listed stays unlisted (nobody was told its id). Not a hot path: a create
   * costs two or three round trips.
   */
  async createVideo(input: NewVideo, once?: Once) {
    const now = new Date();
    const video = newVideo(once ? { ...input, id: once.videoId } : input, now);
    const keys = [this.videoKey(video.id)];
    if (once) keys.push(this.onceKey(video.id, once.scope));
    // A new video's settings are the defaults (no field): only its own fields are written.
    const { membersOnlyComments: _defaults, reactions: _none, ...own } = video;
    const fields = Object.entries({ ...own, likes: '0' }).flat();
    const { flag, hash } = flagAndHash(
      await this.redis.ovationWebCreateVideo(keys.length, ...keys, video.ownerId, ...fields),
    );
    if (flag === 0) return undefined;
    const stored = flag === 1 ? video : parseVideo(video.id, hash);
    if (!stored) throw new Error(`video ${video.id}: its stored hash is unreadable`);
    // Listed even when found: the attempt that stored it may have stopped before listing it.
    await this.list(stored);
    if (flag === 3) return undefined;
    if (once) {
      // Last: a repeat that finds the record answers from it, and everything before it is done.
      await this.redis
        .multi()
        .hset(keys[1] as string, 'f', once.fingerprint, 'r', videoResult(video.id))
        .pexpire(keys[1] as string, this.ttlMs)
        .exec();
    }
    return stored;
  }

  /** Puts the video in the lists its hash says, on both tags at once. Idempotent. */
  private async list(video: StoredVideo): Promise<void> {
    const score = Date.parse(video.createdAt);
    await Promise.all([
      this.redis.ovationWebListVideo(
        3,
        this.listKey(),
        this.statusKey('live'),
        this.statusKey('ended'),
        video.id,
        score,
        video.status,
      ),
      this.redis.ovationWebListOwned(
        2,
        this.ownerKey(video.ownerId),
        this.upcomingKey(video.ownerId),
        video.id,
        score,
        video.status,
      ),
    ]);
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

  /**
   * The videos' hashes in one round trip: one pipeline on one server; on a cluster, the videos
   * live on every master, so one command each, sent together (a cluster pipeline must hold keys
   * of one node). A listed id whose hash is gone is skipped.
   */
  private async videosById(ids: string[]): Promise<StoredVideo[]> {
    if (ids.length === 0) return [];
    let hashes: unknown[];
    if (isCluster(this.redis)) {
      hashes = await Promise.all(ids.map((id) => this.redis.hgetall(this.videoKey(id))));
    } else {
      const replies = (await this.redis.pipeline(ids.map((id) => ['hgetall', this.videoKey(id)])).exec()) ?? [];
      hashes = replies.map(([error, hash]) => {
        if (error) throw error;
        return hash;
      });
    }
    return ids.flatMap((id, i) => {
      const video = parseVideo(id, stringRecord(hashes[i]));
      return video ? [video] : [];
    });
  }

  async pageVideos(index: VideoIndex, limit: number, after?: VideoKey) {
    await this.indexVideos();
    const ids = stringList(
      await this.redis.ovationWebPageVideos(
        1,
        this.indexKey(index),
        limit,
        after ? String(after.createdMs) : '',
        after?.id ?? '',
      ),
    );
    const videos = await this.videosById(ids);
    // An index entry left behind a status change (a step on its way, a backfill) is skipped, never shown.
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
      const ids = await this.redis.zrange(this.listKey(), 0, -1);
      for (let i = 0; i < ids.length; i += 500) {
        const videos = await this.videosById(ids.slice(i, i + 500));
        await Promise.all(videos.map((video) => this.list(video)));
      }
      await this.redis.set(this.indexedKey(), '1');
    })().catch((error: unknown) => {
      this.indexed = undefined; // tried again by the next request
      throw error;
    });
    return this.indexed;
  }

  /**
   * Two steps (see the top of this file): the hash moves forward, then the lists follow what the
   * hash says — every time, changed or not, so the owner's retry of a start or an end that
   * stopped between the steps lists the video where it belongs.
   */
  async setVideoFields(id: string, fields: VideoFields) {
    const { membersOnlyComments, ...rest } = fields;
    const pairs: string[] = [];
    if (membersOnlyComments !== undefined) pairs.push('membersOnly', membersOnlyComments ? '1' : '');
    for (const [field, value] of Object.entries(rest)) {
      if (value !== undefined) pairs.push(field, value ?? '');
    }
    const set = await this.redis.ovationWebSetIfVideo(1, this.videoKey(id), ...pairs);
    return Number(set) === 1 ? this.getVideo(id) : undefined;
  }

  async indexStreamKey(keyHash: string, videoId: string) {
    await this.redis.hset(this.streamKeysKey(), keyHash, videoId);
  }

  async videoOfStreamKey(keyHash: string) {
    return (await this.redis.hget(this.streamKeysKey(), keyHash)) ?? undefined;
  }

  async unindexStreamKey(keyHash: string, videoId: string) {
    await this.redis.ovationWebReleaseIf(1, this.streamKeysKey(), keyHash, videoId);
  }

  async setStatus(id: string, status: TVideoStatus) {
    const { flag, hash } = flagAndHash(await this.redis.ovationWebSetStatus(1, this.videoKey(id), status));
    if (flag === -1) return undefined;
    const video = parseVideo(id, hash);
    if (!video) return undefined;
    await this.list(video);
    return { video, changed: flag === 1 };
  }

  /** One script on the video's tag: one round trip, keyed or not. */
  async addLikes(id: string, count: number, once?: Once, reaction: TReaction = 'like') {
    const keys = [this.videoKey(id), this.activityKey(id, minuteOf(Date.now()))];
    if (once) keys.push(this.onceKey(sameVideo(id, once), once.scope));
    const reply = z
      .array(z.number().int())
      .min(1)
      .parse(
        await this.redis.ovationWebAddLikes(
          keys.length,
          ...keys,
          count,
          ACTIVITY_TTL_MS,
          this.ttlMs,
          once?.fingerprint ?? '',
          reaction,
          ...COUNTED_REACTIONS,
        ),
      );
    const [total = 0, ...others] = reply;
    if (total === -1) return undefined;
    return { total, totals: reactionTotals(total, namedCounts(others)) };
  }

  /** One script on the video's tag: one round trip, keyed or not. */
  async addComment(videoId: string, author: TUser, text: string, once?: Once, owner = false) {
    const comment = newComment(this.ids.next(), videoId, author, text, owner);
    const keys = [this.commentsKey(videoId), this.activityKey(videoId, minuteOf(Date.now()))];
    if (once) keys.push(this.onceKey(sameVideo(videoId, once), once.scope));
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
    // Both keys are the video's: one MULTI on a cluster too.
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

  async recall(once: Once) {
    const record = await this.redis.hgetall(this.onceKey(once.videoId, once.scope));
    return record.f !== undefined && record.r !== undefined ? { fingerprint: record.f, result: record.r } : undefined;
  }

  async wasPublished(key: string) {
    return (await this.redis.exists(this.receiptKey(key))) === 1;
  }

  async notePublished(key: string) {
    await this.redis.set(this.receiptKey(key), '1', 'PX', this.ttlMs);
  }

  /** The window's minutes are all the video's keys: one pipeline, one round trip, on a cluster too. */
  async activity(videoId: string, now = Date.now()) {
    const minutes = activityWindow(now);
    const pipeline = this.redis.pipeline();
    for (const minute of minutes) pipeline.hmget(this.activityKey(videoId, minute), 'likes', 'comments');
    const replies = (await pipeline.exec()) ?? [];
    return minutes.map((minute, i) => {
      const [error, counts] = replies[i] ?? [];
      if (error) throw error;
      const [likes, comments] = stringList(counts, { nulls: true });
      return { minute, likes: Number(likes ?? 0) || 0, comments: Number(comments ?? 0) || 0 };
    });
  }

  /** Every key is the video's: one MULTI on a cluster too. */
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
    return z.number().parse(await this.redis.ovationWebUnban(keys.length, ...keys, userId)) > 0;
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

  /**
   * One server answers PING. A cluster: its slot map is known, every slot's master is one this
   * client is connected to (a master that went away holds its slots until a replica takes over,
   * and the writes of those slots fail meanwhile), and each of those masters answers PING.
   */
  async ping() {
    if (!isCluster(this.redis)) {
      await this.redis.ping();
      return;
    }
    const cluster = this.redis;
    if (cluster.status !== 'ready') throw new Error('the cluster is not ready');
    const connected = new Map(
      cluster
        .nodes('master')
        .filter((node) => node.status === 'ready')
        .map((node) => [`${node.options.host}:${node.options.port}`, node]),
    );
    const holding = new Set<string>();
    for (let slot = 0; slot < CLUSTER_SLOTS; slot++) {
      const master = cluster.slots[slot]?.[0];
      if (master === undefined || !connected.has(master)) throw new Error(`no connected master for slot ${slot}`);
      holding.add(master);
    }
    await Promise.all([...holding].map((master) => connected.get(master)?.ping()));
  }

  async close() {}
}

const CLUSTER_SLOTS = 16384;

/** An activity minute outlives the chart window a little. */
const ACTIVITY_TTL_MS = 11 * 60_000;

/** The once record of a write about `videoId` is kept beside it: the caller's Once must say so. */
function sameVideo(videoId: string, once: Once): string {
  if (once.videoId !== videoId) throw new Error(`a once record about ${once.videoId} given for video ${videoId}`);
  return videoId;
}

const FlagAndHashSchema = z.tuple([z.number().int()]).rest(z.string());

/** A script's reply `{flag, field, value, …}` (CREATE_VIDEO, SET_STATUS). */
function flagAndHash(reply: unknown): { flag: number; hash: Record<string, string> } {
  const [flag, ...pairs] = FlagAndHashSchema.parse(reply);
  const hash: Record<string, string> = {};
  for (let i = 0; i + 1 < pairs.length; i += 2) hash[pairs[i] as string] = pairs[i + 1] as string;
  return { flag, hash };
}

function stringRecord(value: unknown): Record<string, string> {
  return z.record(z.string(), z.string()).parse(value);
}

function stringList(value: unknown, options: { nulls: true }): Array<string | null>;
function stringList(value: unknown): string[];
function stringList(value: unknown, options?: { nulls: true }): Array<string | null> {
  return (options?.nulls ? z.array(z.string().nullable()) : z.array(z.string())).parse(value);
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** COUNTED_REACTIONS' counts (kept as `likes:<name>`; `like` is the rest of the total), in their order, by name. */
function namedCounts(counts: readonly number[]): Partial<Record<TReaction, number>> {
  return Object.fromEntries(COUNTED_REACTIONS.map((name, i) => [name, counts[i] ?? 0]));
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
    reactions: reactionTotals(
      Number(hash.likes ?? 0) || 0,
      namedCounts(COUNTED_REACTIONS.map((name) => Number(hash[`likes:${name}`] ?? 0) || 0)),
    ),
    ...(hash.membersOnly === '1' ? { membersOnlyComments: true as const } : {}),
    ...(hash.stream === 'live' || hash.stream === 'interrupted' ? { stream: hash.stream } : {}),
    ...optionalFields(hash, ['streamKey', 'ingestSession', 'ingestHealth', 'ingestReportedAt']),
  };
}

/** The fields of `names` the hash has (absent ones are left out, not ''). */
function optionalFields<K extends string>(
  hash: Record<string, string>,
  names: readonly K[],
): Partial<Record<K, string>> {
  const out: Partial<Record<K, string>> = {};
  for (const name of names) {
    const value = hash[name];
    if (value) out[name] = value;
  }
  return out;
}
