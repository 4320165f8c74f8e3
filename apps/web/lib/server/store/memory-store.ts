import {
  EventIdGenerator,
  IDEMPOTENCY_TTL_MS,
  type TComment,
  type TReaction,
  type TUser,
  type TVideoStatus,
} from '@ovation/shared';
import Denque from 'denque';
import { ExpiringMap } from './expiring-map';
import {
  type ActivityMinute,
  activityWindow,
  BAN_ADDRESS_TTL_MS,
  type DeleteOutcome,
  keyOf,
  likeResult,
  listedBefore,
  MAX_ADDRESSES_PER_USER,
  MAX_COMMENTS_PER_VIDEO,
  MAX_LISTED_VIDEOS,
  minuteOf,
  type NewVideo,
  newComment,
  newVideo,
  type Once,
  type OnceRecord,
  type ProductStore,
  SESSION_MAX_AGE_MS,
  STATUS_RANK,
  type StoredVideo,
  type StoreOptions,
  USER_ADDRESS_TTL_MS,
  type VideoFields,
  type VideoIndex,
  type VideoKey,
  videoResult,
} from './store';

/**
 * In-process store: the embedded default when REDIS_URL is unset (one web process). Every method
 * runs without awaiting anything before its last write, so each is atomic like its Redis script.
 */
export class MemoryStore implements ProductStore {
  private readonly videos = new Map<string, StoredVideo>();
  /** Stream key SHA-256 → video id. */
  private readonly streamKeys = new Map<string, string>();
  /** The newest MAX_COMMENTS_PER_VIDEO per video, oldest first: one past the cap shifts out in O(1). */
  private readonly comments = new Map<string, Denque<TComment>>();
  private readonly ids = new EventIdGenerator('web');
  /** videoId → minute → counts; minutes older than the window are dropped as new ones come. */
  private readonly activityByVideo = new Map<string, Map<number, ActivityMinute>>();
  private readonly bans = new Map<string, Map<string, string>>();
  /** By onceKey: per video, as the Redis store keeps them. */
  private readonly onceRecords: ExpiringMap<OnceRecord>;
  private readonly receipts: ExpiringMap<true>;
  /** `<videoId> <commentId>` of comments deleted within the idempotency window. */
  private readonly tombstones: ExpiringMap<true>;
  /** `<videoId> <address>` → the banned user whose address it was. */
  private readonly bannedAddresses = new ExpiringMap<string>(BAN_ADDRESS_TTL_MS);
  /** `<videoId> <userId>` → the addresses their ban barred (freed by an unban). */
  private readonly banAddressesOf = new ExpiringMap<string[]>(BAN_ADDRESS_TTL_MS);
  private readonly userAddresses = new ExpiringMap<string[]>(USER_ADDRESS_TTL_MS);
  /** Signed-out session ids, kept as long as any session lives (longer than the token's own rest: harmless). */
  private readonly revoked = new ExpiringMap<true>(SESSION_MAX_AGE_MS);

  constructor(options: StoreOptions = {}) {
    const ttl = options.idempotencyTtlMs ?? IDEMPOTENCY_TTL_MS;
    this.onceRecords = new ExpiringMap(ttl);
    this.receipts = new ExpiringMap(ttl);
    this.tombstones = new ExpiringMap(ttl);
  }

  async createVideo(input: NewVideo, once?: Once) {
    if (once && this.onceRecords.has(onceKey(once))) return undefined;
    const id = once?.videoId ?? input.id;
    const existing = id === undefined ? undefined : this.videos.get(id);
    // A keyed create's video is its own (the id comes from the key): a repeat finishes it, as on Redis.
    if (existing && !(once && existing.ownerId === input.ownerId)) return undefined;
    const video = existing ?? newVideo({ ...input, ...(id === undefined ? {} : { id }) });
    this.videos.set(video.id, video);
    if (once) this.onceRecords.set(onceKey(once), { fingerprint: once.fingerprint, result: videoResult(video.id) });
    return { ...video };
  }

  async getVideo(id: string) {
    const video = this.videos.get(id);
    return video ? { ...video } : undefined;
  }

  async listVideos() {
    return [...this.videos.values()]
      .sort((a, b) => b.createdAt.localeCompare(a.createdAt))
      .slice(0, MAX_LISTED_VIDEOS)
      .map((v) => ({ ...v }));
  }

  async listVideosByOwner(ownerId: string) {
    return [...this.videos.values()]
      .filter((v) => v.ownerId === ownerId)
      .sort((a, b) => b.createdAt.localeCompare(a.createdAt))
      .slice(0, MAX_LISTED_VIDEOS)
      .map((v) => ({ ...v }));
  }

  /** O(videos) per page: the memory store serves one process's demo-sized data; Redis keeps indexes. */
  async pageVideos(index: VideoIndex, limit: number, after?: VideoKey) {
    const matches = (v: StoredVideo) =>
      'status' in index ? v.status === index.status : v.status === 'upcoming' && v.ownerId === index.upcomingOf;
    return [...this.videos.values()]
      .filter((v) => matches(v) && (!after || listedBefore(after, keyOf(v))))
      .sort((a, b) => (listedBefore(keyOf(a), keyOf(b)) ? -1 : 1))
      .slice(0, limit)
      .map((v) => ({ ...v }));
  }

  async countUpcoming(ownerId: string) {
    let count = 0;
    for (const v of this.videos.values()) if (v.ownerId === ownerId && v.status === 'upcoming') count++;
    return count;
  }

  async setStatus(id: string, status: TVideoStatus) {
    const video = this.videos.get(id);
    if (!video) return undefined;
    const changed = STATUS_RANK[status] > STATUS_RANK[video.status];
    if (changed) video.status = status;
    return { video: { ...video }, changed };
  }

  async setVideoFields(id: string, fields: VideoFields) {
    const video = this.videos.get(id);
    if (!video) return undefined;
    const { membersOnlyComments, ...rest } = fields;
    if (membersOnlyComments === true) video.membersOnlyComments = true;
    if (membersOnlyComments === false) delete video.membersOnlyComments;
    for (const [field, value] of Object.entries(rest) as Array<[keyof typeof rest, string | null | undefined]>) {
      if (value === null) delete video[field];
      else if (value !== undefined) Object.assign(video, { [field]: value });
    }
    return { ...video };
  }

  async indexStreamKey(keyHash: string, videoId: string) {
    this.streamKeys.set(keyHash, videoId);
  }

  async videoOfStreamKey(keyHash: string) {
    return this.streamKeys.get(keyHash);
  }

  async unindexStreamKey(keyHash: string, videoId: string) {
    if (this.streamKeys.get(keyHash) === videoId) this.streamKeys.delete(keyHash);
  }

  async addLikes(id: string, count: number, once?: Once, reaction: TReaction = 'like') {
    if (once && this.onceRecords.has(onceKey(once))) return undefined;
    const video = this.videos.get(id);
    if (!video) return { total: 0, totals: {} };
    video.likes += count;
    video.reactions = { ...video.reactions, [reaction]: (video.reactions[reaction] ?? 0) + count };
    this.bump(id, 'likes', count);
    const added = { total: video.likes, totals: { ...video.reactions } };
    if (once)
      this.onceRecords.set(onceKey(once), {
        fingerprint: once.fingerprint,
        result: likeResult(added, count, reaction),
      });
    return added;
  }

  async addComment(videoId: string, author: TUser, text: string, once?: Once, owner = false) {
    if (once && this.onceRecords.has(onceKey(once))) return undefined;
    const comment = newComment(this.ids.next(), videoId, author, text, owner);
    const list = this.comments.get(videoId) ?? new Denque<TComment>();
    list.push(comment);
    while (list.length > MAX_COMMENTS_PER_VIDEO) list.shift();
    this.comments.set(videoId, list);
    this.bump(videoId, 'comments', 1);
    if (once) this.onceRecords.set(onceKey(once), { fingerprint: once.fingerprint, result: JSON.stringify(comment) });
    return { ...comment };
  }

  async listComments(videoId: string, limit: number) {
    const list = this.comments.get(videoId);
    const listed: TComment[] = [];
    for (let i = Math.max(0, (list?.length ?? 0) - limit); list && i < list.length; i++) {
      listed.push(list.peekAt(i) as TComment);
    }
    return listed;
  }

  async hasComment(videoId: string, commentId: string) {
    return indexOf(this.comments.get(videoId), commentId) !== -1;
  }

  async deleteComment(videoId: string, commentId: string): Promise<DeleteOutcome> {
    const tombstone = `${videoId} ${commentId}`;
    const list = this.comments.get(videoId);
    const index = indexOf(list, commentId);
    if (!list || index === -1) return this.tombstones.has(tombstone) ? 'gone' : 'missing';
    list.removeOne(index);
    this.tombstones.set(tombstone, true);
    return 'deleted';
  }

  async recall(once: Once) {
    const record = this.onceRecords.get(onceKey(once));
    return record ? { ...record } : undefined;
  }

  async wasPublished(key: string) {
    return this.receipts.has(key);
  }

  async notePublished(key: string) {
    this.receipts.set(key, true);
  }

  async activity(videoId: string, now = Date.now()) {
    const minutes = this.activityByVideo.get(videoId);
    return activityWindow(now).map((minute) => ({ ...(minutes?.get(minute) ?? { minute, likes: 0, comments: 0 }) }));
  }

  async ban(videoId: string, user: TUser, addresses: readonly string[] = []) {
    const bans = this.bans.get(videoId) ?? new Map<string, string>();
    bans.set(user.id, user.name);
    this.bans.set(videoId, bans);
    for (const address of addresses) this.bannedAddresses.set(`${videoId} ${address}`, user.id);
    if (addresses.length > 0) this.banAddressesOf.set(`${videoId} ${user.id}`, [...addresses]);
  }

  async unban(videoId: string, userId: string) {
    for (const address of this.banAddressesOf.get(`${videoId} ${userId}`) ?? []) {
      // Only the address this ban set: another ban may have barred it since.
      if (this.bannedAddresses.get(`${videoId} ${address}`) === userId)
        this.bannedAddresses.delete(`${videoId} ${address}`);
    }
    this.banAddressesOf.delete(`${videoId} ${userId}`);
    return this.bans.get(videoId)?.delete(userId) ?? false;
  }

  async isAddressBanned(videoId: string, address: string) {
    return this.bannedAddresses.has(`${videoId} ${address}`);
  }

  async noteAddress(userId: string, address: string) {
    const previous = (this.userAddresses.get(userId) ?? []).filter((a) => a !== address);
    this.userAddresses.set(userId, [address, ...previous].slice(0, MAX_ADDRESSES_PER_USER));
  }

  async recentAddresses(userId: string) {
    return [...(this.userAddresses.get(userId) ?? [])];
  }

  async revokeSession(sessionId: string, _expiresAtMs: number) {
    this.revoked.set(sessionId, true);
  }

  async isSessionRevoked(sessionId: string) {
    return this.revoked.has(sessionId);
  }

  async isBanned(videoId: string, userId: string) {
    return this.bans.get(videoId)?.has(userId) ?? false;
  }

  async listBans(videoId: string) {
    return [...(this.bans.get(videoId) ?? [])].map(([id, name]) => ({ id, name }));
  }

  async ping() {}

  async close() {}

  private bump(videoId: string, field: 'likes' | 'comments', count: number) {
    const now = Date.now();
    let minutes = this.activityByVideo.get(videoId);
    if (!minutes) {
      minutes = new Map();
      this.activityByVideo.set(videoId, minutes);
    }
    const minute = minuteOf(now);
    const bucket = minutes.get(minute) ?? { minute, likes: 0, comments: 0 };
    bucket[field] += count;
    minutes.set(minute, bucket);
    const oldest = activityWindow(now)[0] ?? minute;
    for (const key of minutes.keys()) if (key < oldest) minutes.delete(key);
  }
}

function onceKey(once: Once): string {
  return `${once.videoId} ${once.scope}`;
}

function indexOf(list: Denque<TComment> | undefined, commentId: string): number {
  for (let i = 0; list && i < list.length; i++) if (list.peekAt(i)?.id === commentId) return i;
  return -1;
}
