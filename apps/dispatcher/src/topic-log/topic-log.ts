import type { TReactionCounts } from '@ovation/shared';
import type { NodeInfo } from '../registry/registry.js';

/**
 * The topic log: for every topic, a position counter, the recent history and the current state.
 *
 *   publish ─▶ accept: each event takes the topic's next position; history events are appended;
 *              like total and status are updated; the nodes with viewers are read — one atomic
 *              step per topic, so an event is in the history before any node can have it, and a
 *              node that registered a topic before that step receives the event live.
 *   node    ─▶ read: state (position, like total, status) and the history after a position, in
 *              one atomic step, so a new subscriber's snapshot and replay meet the live stream at
 *              an exact position (see apps/realtime/src/catch-up).
 *
 * Kept in history: every event except `like` and `viewers` (their totals are the state that
 * matters). Two drivers — memory (one dispatcher) and Redis — pass test/topic-log-contract.test.ts.
 */
export interface TopicLog {
  /**
   * Accepts one batch; `appends[i]` gets `result[i]`. Nothing is accepted (and the reason is named
   * instead) when the batch holds an event accepted before — a relayed event that came twice (its
   * dedupe mark is set) or an event whose idempotency key was used (its answer is given) — or when
   * the request's own key was used (`replay`: the first request's answers, in request order).
   * Throws when the store is unreachable.
   */
  accept(appends: readonly TopicAppend[], request?: AcceptRequest): Promise<AcceptResult>;
  /**
   * Which topics one `accept` may take together: those of equal shard. Redis Cluster: the topic's
   * hash slot (a script holds keys of one slot); one server and memory: -1 for every topic. A
   * request key is remembered per shard, so a retried request finds each shard's answers.
   */
  shardOf(topic: string): number;
  /**
   * The topic's state and its history events after position `from` (none when undefined, or when
   * `epochs` is non-empty and holds not the log's epoch: positions of another epoch cannot match).
   */
  read(topic: string, from: number | undefined, epochs?: readonly string[]): Promise<TopicRead>;
  /** `read` for many topics at once (a catch-up round), each read atomically; results in order. */
  readMany(requests: readonly ReadRequest[]): Promise<TopicRead[]>;
  /**
   * The viewer count each topic's log holds (none, or a log that does not exist: undefined), for
   * the count holder's check (viewer-counts.ts). A hint, not a read for viewers: it makes no log,
   * waits for no replica, and a topic whose shard does not answer is left out of the map.
   */
  viewerCounts(topics: readonly string[]): Promise<Map<string, number | undefined>>;
  /**
   * State nodes report for topics (their like total and status as they last saw them), for a
   * store that lost its data: a log that does not exist is made with it (new epoch); one that has
   * taken no event since it was made takes the higher like total and a status it lacks — under a
   * new epoch when that changes it, because a read (a viewer joining) may have handed its state
   * at position 0 out already, and its holders must resync rather than keep the old total. A log
   * that took events is left as it is: the state it has is newer than any node's. Relayed events the
   * nodes let out are marked as arrived in any case (dedupeRange), so a peer that sends them again
   * is not accepted twice.
   */
  restore(states: readonly RestoredState[]): Promise<void>;
  /** Forgets expired state (the Redis driver leaves that to key expiry). */
  sweep(): void;
}

/** A topic's state as a node saw it last (see TopicLog.restore). */
export interface RestoredState {
  topic: string;
  likes: number;
  /** `likes` per reaction (absent: all `like`). */
  reactions?: TReactionCounts | undefined;
  status?: string | undefined;
  viewers?: number | undefined;
  /** Relayed events the node let out: per origin log (`<epoch>-<region>`), the highest origin position. */
  relayed?: Readonly<Record<string, number>> | undefined;
}

export interface ReadRequest {
  topic: string;
  from?: number | undefined;
  epochs?: readonly string[] | undefined;
}

export type AcceptResult =
  | TopicAccepted[]
  | { duplicates: Array<{ append: number; index: number; answer?: string }>; unreplicated?: true }
  | { replay: string[]; unreplicated?: true };

/**
 * What a publish with idempotency keys needs besides its appends. An *answer* is what a key
 * remembers of its event: `<time>:<position>:<epoch>` (see `answer`/`answerId`), from which the
 * event's id is rebuilt; a request key remembers one answer per event, in request order.
 */
export interface AcceptRequest {
  /** The time part of the request's ids (ids.ts positionIdTime). */
  time: string;
  /**
   * Published here (not relayed in): the events go to every peer region's relay outbox in the same
   * atomic step (Redis driver; see relay/outbox.ts), so a 202 is never given for an event no
   * region-to-region relay knows of — whatever happens to the dispatcher that gave it.
   */
  relay?: boolean;
  /** The request's `Idempotency-Key` (without prefix), covering every event of the request. */
  key?: string;
  /** Events in the request. */
  size: number;
  /** Request index of each append's events, in order (needed with `key`). */
  order: ReadonlyArray<readonly number[]>;
  /** Answers of events left out of the appends (already accepted under their own key), by request index. */
  prefilled: ReadonlyArray<readonly [number, string]>;
  /** The appends' shard (TopicLog.shardOf), for a call whose events are all left out (no appends). */
  shard?: number;
}

/** One topic's share of a publish batch. */
export interface TopicAppend {
  topic: string;
  /** Events of the batch on this topic; they take positions base+1 … base+count in order. */
  count: number;
  /** Events kept in history: their index among the topic's events, and their JSON (no id). */
  history: ReadonlyArray<{ index: number; body: string }>;
  /** Likes of the batch (the sum of their counts), added to the like total. */
  likeDelta: number;
  /** Of those, the reactions other than `like` (COUNTED_REACTIONS; `like` is the rest). */
  reactionDeltas: TReactionCounts;
  /** The `status` of the batch's last `status` event, if any. */
  status: string | undefined;
  /** The count of the batch's last `viewers` event, if any (what snapshots say until the next). */
  viewers?: number | undefined;
  /** Epoch to use if the topic's log does not exist yet. */
  newEpoch: string;
  /**
   * Marks of events relayed from another region (its log position as a bit in a bitmap `key`):
   * an event whose mark is already set was accepted before and must not be again.
   */
  dedupe?: ReadonlyArray<{ index: number; key: string; bit: number }>;
  /** Idempotency keys of events (a batch event's `key`): one already used names its answer instead. */
  keys?: ReadonlyArray<{ index: number; key: string }>;
  /**
   * Relayed events' keys in their region (`<region>:<relayKey>`, see RelayWireEventSchema), kept
   * apart from publishers' keys: one seen before marks the event a duplicate, as `dedupe` does.
   */
  relayKeys?: ReadonlyArray<{ index: number; key: string }>;
  /** Bodies of events to relay that are not in `history` (likes); see AcceptRequest.relay. */
  relayBodies?: ReadonlyArray<{ index: number; body: string }>;
}

export interface TopicAccepted {
  epoch: string;
  /** Position before the batch: the topic's events got base+1 … base+count. */
  base: number;
  /** Live nodes with viewers of the topic. */
  nodes: NodeInfo[];
  /**
   * Accepted by the store, but not confirmed by as many replicas as configured within the wait
   * (Redis WAIT): a failover now could lose it, so the publish must not answer 202. A `replay` or
   * `duplicates` answer is confirmed the same way: what it names may have been written a moment
   * ago by an accept whose own confirmation failed.
   */
  unreplicated?: true;
  /**
   * With `unreplicated`: whether the replicas confirm it after all, within a few seconds, on the
   * master that took it (false once another one has the slot).
   */
  confirmLater?: () => Promise<boolean>;
}

export interface TopicRead {
  epoch: string;
  pos: number;
  /** History may have lost events up to this position (trimmed to its length bound). */
  trimmedThrough: number;
  likes: number;
  /** `likes` per reaction, summing to it. */
  reactions: TReactionCounts;
  status: string | undefined;
  /** The last viewer count published on the topic (none yet: undefined). */
  viewers: number | undefined;
  /** History events after `from`, oldest first: their position and JSON (no id). */
  events: Array<{ pos: number; body: string }>;
  /** The history after `from` was more than one read returns: `events` stops short of `pos`. */
  cut?: boolean;
}

export interface TopicLogLimits {
  /** History events kept per topic (at least this many; trimmed in steps of HISTORY_TRIM_SLACK). */
  maxEvents: number;
  /** Age beyond which a resume point is refused (resync); an idle topic's history expires after it. */
  maxAgeMs: number;
  /** An idle topic's state (position, like total, status) is forgotten after this. */
  stateTtlMs: number;
}

/** Dedupe marks of relayed events live this long (a relay retried later than that is accepted again). */
export const RELAY_DEDUPE_TTL_MS = 60 * 60_000;
/** Relayed events are deduplicated in bitmaps of this many origin positions per origin log. */
export const DEDUPE_CHUNK = 65_536;

/** A relayed event's dedupe mark: the bitmap of its origin log for its position, and its bit there. */
export function dedupeMark(origin: { region: string; epoch: string; pos: number }): { key: string; bit: number } {
  return {
    key: `relayed:${origin.region}:${origin.epoch}:${Math.floor(origin.pos / DEDUPE_CHUNK)}`,
    bit: origin.pos % DEDUPE_CHUNK,
  };
}

/**
 * The marks saying an origin log's (`<epoch>-<region>`) positions up to `through` arrived — the
 * last DEDUPE_CHUNK of them: a relay sends again only what it had in flight. Per bitmap, its first
 * and last bit.
 */
export function dedupeRange(originLog: string, through: number): Array<{ key: string; from: number; to: number }> {
  const epoch = originLog.slice(0, 8);
  const region = originLog.slice(9);
  const first = Math.max(0, through - DEDUPE_CHUNK + 1);
  const ranges: Array<{ key: string; from: number; to: number }> = [];
  for (let chunk = Math.floor(first / DEDUPE_CHUNK); chunk <= Math.floor(through / DEDUPE_CHUNK); chunk++) {
    const start = Math.max(first, chunk * DEDUPE_CHUNK);
    const end = Math.min(through, (chunk + 1) * DEDUPE_CHUNK - 1);
    const { key } = dedupeMark({ region, epoch, pos: start });
    ranges.push({ key, from: start % DEDUPE_CHUNK, to: end % DEDUPE_CHUNK });
  }
  return ranges;
}

export const DEFAULT_TOPIC_LOG_LIMITS: TopicLogLimits = {
  maxEvents: 1000,
  maxAgeMs: 10 * 60_000,
  stateTtlMs: 24 * 60 * 60_000,
};

/** What an idempotency key remembers of its event (see AcceptRequest). */
export function answer(time: string, pos: number, epoch: string): string {
  return `${time}:${pos}:${epoch}`;
}

/** The parts of an answer, or undefined for one this version cannot read. */
export function parseAnswer(value: string): { time: string; pos: number; epoch: string } | undefined {
  if (value.includes(',')) return undefined;
  const [time, pos, epoch] = value.split(':');
  const position = Number(pos);
  if (!time || !epoch || !Number.isSafeInteger(position)) return undefined;
  return { time, pos: position, epoch };
}

/** History is trimmed back to maxEvents once it exceeds it by this fraction (amortises trimming). */
export const HISTORY_TRIM_SLACK = 0.1;

/**
 * Whether an event type is kept in history: not likes (summed into the log's total), nor viewer
 * counts and presence changes (what is true now matters, not each step: a viewer who missed one
 * gets a snapshot, and reads the presence list again).
 */
export function isHistoryType(type: string): boolean {
  return type !== 'like' && type !== 'viewers' && type !== 'presence';
}

/**
 * Whether an event type stays in its region (not relayed): viewer counts and presence changes are
 * each region's own; regions exchange counts (region-counts.ts), not these events.
 */
export function isRegionalType(type: string | undefined): boolean {
  return type === 'viewers' || type === 'presence';
}
