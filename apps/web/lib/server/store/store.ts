import { createHash } from 'node:crypto';
import {
  randomTag,
  type TComment,
  type TReaction,
  type TReactionCounts,
  type TUser,
  type TVideoStatus,
} from '@ovation/shared';

/**
 * The product's data: videos, their like totals and recent comments. One interface, a memory driver
 * (the embedded default) and a Redis driver, both passing test/store-contract.test.ts.
 */
export interface StoredVideo {
  id: string;
  title: string;
  status: TVideoStatus;
  hlsUrl: string;
  ownerId: string;
  /** The owner's display name when they created it ('' for the demo and older videos): no one else may comment under it. */
  ownerName: string;
  createdAt: string;
  likes: number;
  /** `likes` per reaction (summing to it; see reactionTotals). */
  reactions: TReactionCounts;
  /** Only accounts may comment (the broadcaster's choice); absent: anyone signed in. */
  membersOnlyComments?: true;
  /** The broadcaster's encoder (ingest): sending, or dropped; absent: none connected yet. */
  stream?: 'live' | 'interrupted';
  /** The ingest's stream key (its owner's secret: never in a public answer). */
  streamKey?: string;
  /** The publish the ingest runs for this video now (its reports name it). */
  ingestSession?: string;
  /** The last health report (IngestHealth as JSON) and when it came. */
  ingestHealth?: string;
  ingestReportedAt?: string;
}

/** The fields setVideoFields changes; null removes one. */
export interface VideoFields {
  membersOnlyComments?: boolean;
  hlsUrl?: string;
  stream?: 'live' | 'interrupted' | null;
  streamKey?: string;
  ingestSession?: string | null;
  ingestHealth?: string | null;
  ingestReportedAt?: string | null;
}

/** Comments kept per video (older ones fall off); a page load shows the most recent. */
export const MAX_COMMENTS_PER_VIDEO = 500;
/** Videos listed on the home page, newest first. */
export const MAX_LISTED_VIDEOS = 100;
/** A page of the video list holds at most this many. */
export const MAX_VIDEO_PAGE = 100;
/** How long a signed-out session id stays refused: as long as a session lives (its JWT expires then). */
export const SESSION_MAX_AGE_MS = 30 * 24 * 3600_000;
/** The addresses a user was recently seen at (session, comments) are kept this long, the newest few. */
export const USER_ADDRESS_TTL_MS = 24 * 3600_000;
export const MAX_ADDRESSES_PER_USER = 4;
/**
 * A ban also bars the banned user's recent addresses from commenting on that video for this long,
 * so coming back as a fresh guest does not lift it. Bounded: behind a shared (NAT) address the
 * banned user's neighbours are barred from commenting on that one video too, for at most this long.
 */
export const BAN_ADDRESS_TTL_MS = 3600_000;

/** Where a page of the video list starts: after the video with this creation time and id. */
export interface VideoKey {
  createdMs: number;
  id: string;
}

/** A video index: every video of one status, or one owner's upcoming videos. */
export type VideoIndex = { status: 'live' | 'ended' } | { upcomingOf: string };

/** The order of every video list: newest first, ties by id (descending). True when `a` comes before `b`. */
export function listedBefore(a: VideoKey, b: VideoKey): boolean {
  return a.createdMs !== b.createdMs ? a.createdMs > b.createdMs : a.id > b.id;
}

export function keyOf(video: StoredVideo): VideoKey {
  return { createdMs: Date.parse(video.createdAt), id: video.id };
}

/** The studio's activity charts cover this many minutes, one bucket per minute. */
export const ACTIVITY_MINUTES = 10;

/** Likes and comments a video received in one minute (`minute`: its start, ms since the epoch). */
export interface ActivityMinute {
  minute: number;
  likes: number;
  comments: number;
}

export function minuteOf(ms: number): number {
  return Math.floor(ms / 60_000) * 60_000;
}

/** The ACTIVITY_MINUTES minute starts ending with the current one, oldest first. */
export function activityWindow(now: number): number[] {
  const last = minuteOf(now);
  return Array.from({ length: ACTIVITY_MINUTES }, (_, i) => last - (ACTIVITY_MINUTES - 1 - i) * 60_000);
}

/**
 * A write made under an Idempotency-Key: `scope` names (user, key), `fingerprint` the request.
 * The store records it in the same atomic step as the write, so a repeat can never apply twice.
 * The record is kept beside `videoId`, the video the write is about (on a Redis Cluster, in its
 * hash slot, so that one script holds both): a key is one request per video. A new video's id is
 * the scope's (keyedVideoId), so a repeat of a create finds — and finishes — the same video.
 */
export interface Once {
  scope: string;
  fingerprint: string;
  videoId: string;
}

/** The id of the video a keyed create makes: derived from its once scope, the same on every attempt. */
export function keyedVideoId(scope: string): string {
  return randomTagOf(createHash('sha256').update(`video ${scope}`).digest().subarray(0, 8));
}

/** The spelling of randomTag(8), of given bytes. */
function randomTagOf(bytes: Uint8Array): string {
  let out = '';
  for (const byte of bytes) out += byte.toString(36).padStart(2, '0');
  return out;
}

/** What the first write of a scope did: its request's fingerprint and its result (JSON). */
export interface OnceRecord {
  fingerprint: string;
  result: string;
}

/** A deleted comment: just now (`deleted`), within the idempotency window (`gone`), or never seen. */
export type DeleteOutcome = 'deleted' | 'gone' | 'missing';

/** Statuses only move forward: upcoming → live → ended. */
export const STATUS_RANK: Record<TVideoStatus, number> = { upcoming: 0, live: 1, ended: 2 };

export interface StoreOptions {
  /** How long once records, publish receipts and tombstones are kept (IDEMPOTENCY_TTL_MS). */
  idempotencyTtlMs?: number;
}

export interface ProductStore {
  /**
   * Creates a video unless its id (when given) or the once scope is taken; then returns undefined.
   * With `once`, the video's id is `once.videoId` (keyedVideoId): when that video exists already
   * (an attempt that stopped before its once record), the create finishes it and returns it.
   */
  createVideo(input: NewVideo, once?: Once): Promise<StoredVideo | undefined>;
  getVideo(id: string): Promise<StoredVideo | undefined>;
  /** Newest first, at most MAX_LISTED_VIDEOS. */
  listVideos(): Promise<StoredVideo[]>;
  /** One owner's videos, newest first, at most MAX_LISTED_VIDEOS. */
  listVideosByOwner(ownerId: string): Promise<StoredVideo[]>;
  /** Up to `limit` videos of an index in list order (listedBefore), those after `after` when given. */
  pageVideos(index: VideoIndex, limit: number, after?: VideoKey): Promise<StoredVideo[]>;
  /** How many upcoming videos the owner has now. */
  countUpcoming(ownerId: string): Promise<number>;
  /**
   * Moves the status forward (never back: an ended video stays ended); `changed` says whether it
   * moved. Undefined for an unknown video.
   */
  setStatus(id: string, status: TVideoStatus): Promise<{ video: StoredVideo; changed: boolean } | undefined>;
  /** Changes a video's settings and stream fields; undefined (nothing written) for an unknown video. */
  setVideoFields(id: string, fields: VideoFields): Promise<StoredVideo | undefined>;
  /** Stream keys, by their SHA-256 (hex): which video a key is for. A key's video checks it is its own. */
  indexStreamKey(keyHash: string, videoId: string): Promise<void>;
  videoOfStreamKey(keyHash: string): Promise<string | undefined>;
  /** Removes the entry if it still names `videoId`. */
  unindexStreamKey(keyHash: string, videoId: string): Promise<void>;
  /**
   * Adds likes of one reaction (counted in the current minute's activity too); returns the new
   * total and totals per reaction (total 0 for an unknown video), undefined (nothing added) when
   * the once scope is taken.
   */
  addLikes(id: string, count: number, once?: Once, reaction?: TReaction): Promise<LikesAdded | undefined>;
  /** Stores a comment (`owner`: by the video's owner); undefined (nothing stored) when the once scope is taken. */
  addComment(videoId: string, author: TUser, text: string, once?: Once, owner?: boolean): Promise<TComment | undefined>;
  /** The most recent `limit` comments, oldest first. */
  listComments(videoId: string, limit: number): Promise<TComment[]>;
  hasComment(videoId: string, commentId: string): Promise<boolean>;
  /** Deletes a comment and leaves a tombstone for the idempotency window (a retried delete finds it). */
  deleteComment(videoId: string, commentId: string): Promise<DeleteOutcome>;
  /** The record of a once scope (beside `once.videoId`), while it is kept. */
  recall(once: Once): Promise<OnceRecord | undefined>;
  /** Whether the publish with this dispatcher idempotency key went out (within the window). */
  wasPublished(key: string): Promise<boolean>;
  notePublished(key: string): Promise<void>;
  /** Likes and comments per minute over the last ACTIVITY_MINUTES minutes, oldest first. */
  activity(videoId: string, now?: number): Promise<ActivityMinute[]>;
  /**
   * Bars a user from commenting on a video (their name kept for the studio's list), and `addresses`
   * for BAN_ADDRESS_TTL_MS.
   */
  ban(videoId: string, user: TUser, addresses?: readonly string[]): Promise<void>;
  /** True when the user was banned; their addresses are freed too. */
  unban(videoId: string, userId: string): Promise<boolean>;
  isBanned(videoId: string, userId: string): Promise<boolean>;
  /** Whether a ban on this video bars the address (within BAN_ADDRESS_TTL_MS). */
  isAddressBanned(videoId: string, address: string): Promise<boolean>;
  /** Notes that the user was seen at the address (kept USER_ADDRESS_TTL_MS, the newest MAX_ADDRESSES_PER_USER). */
  noteAddress(userId: string, address: string): Promise<void>;
  /** The user's recent addresses, newest first. */
  recentAddresses(userId: string): Promise<string[]>;
  /** Refuses a session id from now until `expiresAtMs` (sign-out). */
  revokeSession(sessionId: string, expiresAtMs: number): Promise<void>;
  isSessionRevoked(sessionId: string): Promise<boolean>;
  listBans(videoId: string): Promise<TUser[]>;
  /** Resolves when the store answers (health check); rejects otherwise. */
  ping(): Promise<void>;
  close(): Promise<void>;
}

export interface NewVideo {
  title: string;
  hlsUrl: string;
  ownerId: string;
  ownerName?: string;
  status?: TVideoStatus;
  id?: string;
}

/** A video as first stored: no likes yet, `upcoming` unless said otherwise. */
export function newVideo(input: NewVideo, now: Date = new Date()): StoredVideo {
  return {
    id: input.id ?? randomTag(8),
    title: input.title,
    status: input.status ?? 'upcoming',
    hlsUrl: input.hlsUrl,
    ownerId: input.ownerId,
    ownerName: input.ownerName ?? '',
    createdAt: now.toISOString(),
    likes: 0,
    reactions: {},
  };
}

export function newComment(id: string, videoId: string, author: TUser, text: string, owner: boolean): TComment {
  const comment: TComment = { id, videoId, author, text, at: new Date().toISOString() };
  if (owner) comment.owner = true;
  return comment;
}

/** A like batch as the store took it: the video's total and totals per reaction after it. */
export interface LikesAdded {
  total: number;
  totals: TReactionCounts;
}

/**
 * The once record's result for a like: what the repeat answers and publishes again — the total,
 * the batch, and the other reactions' counts (`likes.ts` rebuilds the totals with reactionTotals;
 * the Redis driver writes the same shape in its script).
 */
export function likeResult(added: LikesAdded, count: number, reaction: TReaction): string {
  const { like: _rest, ...others } = added.totals;
  return JSON.stringify({ total: added.total, count, reaction, others });
}

/** The once record's result for a created video: its id. */
export function videoResult(id: string): string {
  return JSON.stringify({ id });
}
