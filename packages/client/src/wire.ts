/*
 * What crosses the wire between a realtime node and this client, as TypeScript types.
 *
 * The schemas themselves live in one place, the platform's private `@ovation/shared` (zod, used
 * by every server to validate). A published package cannot depend on a private one, and a
 * browser bundle should not carry zod to read five control frames, so the client keeps types and
 * checks the few fields it acts on (below). The types are not a second source: the client's test
 * `wire-types.test.ts` requires each of them to equal the type inferred from the shared schema,
 * so `tsc` fails when either side changes alone.
 */

export interface User {
  id: string;
  name: string;
}

export type VideoStatus = 'upcoming' | 'live' | 'ended';

export interface Video {
  id: string;
  title: string;
  status: VideoStatus;
  hlsUrl: string;
  ownerId: string;
  createdAt: string;
  likes: number;
  /** `likes` per reaction (summing to it). */
  reactions: ReactionCounts;
  viewers: number;
  /** Set (true) when only accounts may comment (the broadcaster's choice). */
  membersOnlyComments?: true | undefined;
  /** A stream from the broadcaster's encoder (ingest): `interrupted` while the encoder is gone. */
  stream?: StreamState | undefined;
  /** A recent frame (JPEG) of a stream from the ingest (lists only). */
  posterUrl?: string | undefined;
  /** The broadcaster's display name (lists only). */
  ownerName?: string | undefined;
}

export type StreamState = 'live' | 'interrupted';

export interface Comment {
  id: string;
  videoId: string;
  author: User;
  text: string;
  at: string;
  /** Set (true) on comments by the video's owner. */
  owner?: true | undefined;
}

/** The `data:` line of a published event: the publisher's `data`, wrapped with routing facts. */
export interface EventEnvelope<Type extends string = string, Data = Record<string, unknown>> {
  id: string;
  topic: string;
  type: Type;
  data: Data;
  /** Publish time, ms since the epoch. */
  ts: number;
  /** Set on events a resuming connection receives again from history (sent late on purpose). */
  replayed?: boolean | undefined;
  /** For an event published in another region: its id there (the same in every region). */
  originId?: string | undefined;
}

/** What a viewer can react with; `like` is the default. */
export type Reaction = 'like' | 'celebrate' | 'support' | 'love' | 'insightful' | 'funny';

/** Counts per reaction; one not named counts 0. */
export type ReactionCounts = Partial<Record<Reaction, number>>;

export interface LikePayload {
  count: number;
  /** The video's like total after this event, when the tier knows it. */
  total?: number | undefined;
  /** This event's count per reaction, summing to `count` (absent: all `like`). */
  byReaction?: ReactionCounts | undefined;
  /** The video's totals per reaction when the event was published. */
  totals?: ReactionCounts | undefined;
  /** A few of the users who liked, to show. */
  sample?: User[] | undefined;
}

/** A topic's state when the connection joined or resumed it; its id is a resume point too. */
export interface SnapshotPayload {
  viewers: number;
  likes: number;
  /**
   * `likes` per reaction, summing to it (absent: all `like`); a newer server may name reactions
   * beyond `Reaction`.
   */
  reactions?: Record<string, number> | undefined;
  status?: string | undefined;
}

export interface ViewersPayload {
  count: number;
}

export interface StatusPayload {
  videoId: string;
  status: VideoStatus;
}

/** The broadcaster's encoder is sending (`live`), or it dropped (`interrupted`). */
export interface StreamPayload {
  videoId: string;
  state: StreamState;
}

export interface CommentDeletedPayload {
  id: string;
  videoId: string;
}

/**
 * Who joined and left a video since the previous `presence` event (accounts named, at most 20
 * each: `more` counts the rest), the accounts present (`count`) and the guests (counted only).
 */
export interface PresencePayload {
  joined: User[];
  left: User[];
  count: number;
  guests: number;
  more?: { joined: number; left: number } | undefined;
}

/**
 * The events of Ovation's own topics (`video:<id>`, `videos`), by SSE event name. A publisher's
 * own event types go in a map of the same shape: `new RealtimeClient<MyEvents>(...)`.
 */
export interface OvationEvents {
  snapshot: SnapshotPayload;
  like: LikePayload;
  comment: Comment;
  comment_deleted: CommentDeletedPayload;
  viewers: ViewersPayload;
  status: StatusPayload;
  stream: StreamPayload;
  presence: PresencePayload;
}

/** Event type → payload, as an interface or a type (`OvationEvents` is one). */
export type EventMap = object;

/** Any event type, any object payload: for code that records every event as it came. */
export type UntypedEvents = Record<string, Record<string, unknown>>;

/** One event of a map, its `data` typed by its `type`. */
export type TypedEvent<M extends EventMap, K extends keyof M & string = keyof M & string> = {
  [T in K]: EventEnvelope<T, M[T]>;
}[K];

export interface ConnectedPayload {
  connectionId: string;
  nodeId: string;
  region: string;
}

export interface ReconnectPayload {
  afterMs: number;
}

export type ResyncReason = 'unknown_id' | 'too_old' | 'unavailable' | 'gap';

export interface ResyncPayload {
  topic: string;
  reason: ResyncReason;
}

/** GET /api/realtime-token on the web tier. */
export interface RealtimeTokenResponse {
  token: string;
  /** When the token stops being accepted, ms since the epoch. */
  expiresAt: number;
  realtimeUrls: string[];
  /** The topics the token grants (a connection shared by tabs opens with those it asked for and got). */
  topics?: string[] | undefined;
}

export function videoTopic(videoId: string): string {
  return `video:${videoId}`;
}

/** The topic whose `status` events announce every video going live or ending. */
export const VIDEOS_TOPIC = 'videos';

// ---------- the checks the client makes before it acts on a frame ----------

type Json = Record<string, unknown>;

function parseObject(data: string): Json | undefined {
  let value: unknown;
  try {
    value = JSON.parse(data);
  } catch {
    return undefined;
  }
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Json) : undefined;
}

/**
 * A control frame's payload, or undefined when the frame is not one the server sent: the server
 * never puts an event envelope (`id`, `type`) in a control frame, so a frame named like one that
 * carries an event is a published event in disguise (an old peer, a bug) and is ignored — one
 * `reconnect` from a publisher must not send every viewer away.
 */
export function controlPayload(data: string): Json | undefined {
  const record = parseObject(data);
  return record && !('id' in record) && !('type' in record) ? record : undefined;
}

export function asConnected(record: Json | undefined): ConnectedPayload | undefined {
  return record && typeof record.connectionId === 'string' ? (record as unknown as ConnectedPayload) : undefined;
}

export function asReconnect(record: Json | undefined): ReconnectPayload | undefined {
  const afterMs = record?.afterMs;
  return typeof afterMs === 'number' && Number.isInteger(afterMs) && afterMs >= 0 ? { afterMs } : undefined;
}

const RESYNC_REASONS: readonly string[] = ['unknown_id', 'too_old', 'unavailable', 'gap'];

export function asResync(record: Json | undefined): ResyncPayload | undefined {
  if (!record || typeof record.topic !== 'string' || typeof record.reason !== 'string') return undefined;
  return RESYNC_REASONS.includes(record.reason) ? (record as unknown as ResyncPayload) : undefined;
}

/** An event envelope with the routing facts the client relies on (id, topic, type, data, ts). */
export function asEnvelope(data: string, type: string): EventEnvelope | undefined {
  const envelope = asEnvelopeValue(parseObject(data));
  return envelope?.type === type ? envelope : undefined;
}

/** The same checks on a value already parsed (an event another tab passed on). */
export function asEnvelopeValue(value: unknown): EventEnvelope | undefined {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
  const record = value as Json;
  if (typeof record.id !== 'string' || typeof record.topic !== 'string') return undefined;
  if (typeof record.type !== 'string' || typeof record.ts !== 'number') return undefined;
  const payload = record.data;
  if (typeof payload !== 'object' || payload === null || Array.isArray(payload)) return undefined;
  return record as unknown as EventEnvelope;
}

export function asTokenResponse(value: unknown): RealtimeTokenResponse | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const record = value as Json;
  const { token, expiresAt, realtimeUrls } = record;
  if (typeof token !== 'string' || token.length === 0 || typeof expiresAt !== 'number') return undefined;
  if (!Array.isArray(realtimeUrls) || !realtimeUrls.every((u) => typeof u === 'string')) return undefined;
  const topics = record.topics;
  if (Array.isArray(topics) && topics.every((t) => typeof t === 'string')) {
    return { token, expiresAt, realtimeUrls, topics };
  }
  return { token, expiresAt, realtimeUrls };
}
