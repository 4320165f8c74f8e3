import { encodeFrame, REACTIONS, type TReaction, type TReactionCounts, type TWireEvent } from '@ovation/shared';

/** Most likers named in one coalesced `like` event's `sample`. */
export const MAX_LIKE_SAMPLE = 5;

interface Liker {
  id: string;
  name: string;
}

/**
 * Encodes one topic's pending events as the SSE text every subscriber of the topic receives.
 *
 * Likes are coalesced into one `like` frame whose `count` is the sum of theirs (so the contract's
 * sum invariant holds exactly), `byReaction` the sum per reaction (so it holds per reaction too),
 * `total` the highest total seen with its `totals` (per reaction), and `sample` the latest
 * distinct likers. The frame takes the place, id and publish time of the last like, so ids in the stream
 * stay in publish order. Likes are never coalesced across a `snapshot` or a `resync` (the node's
 * own frames, fanout/topic-order.ts): a like before a snapshot is inside its total, one after it
 * is not. Every other event is encoded as it came, but for `resync`: a control frame, no id.
 *
 * Cost: one JSON.stringify per non-like event, one per coalesced like, one string join.
 */
export function encodeTopicBatch(events: readonly TWireEvent[]): { text: string; frames: number; likes: number } {
  let text = '';
  let frames = 0;
  let likes = 0;
  let start = 0;
  for (let i = 0; i <= events.length; i++) {
    const event = events[i];
    if (event !== undefined && event.type !== 'snapshot' && event.type !== 'resync') continue;
    // events[start … i) hold no boundary: their likes go in one frame.
    const segment = encodeSegment(events, start, i);
    text += segment.text;
    frames += segment.frames;
    likes += segment.likes;
    if (event === undefined) break;
    text += event.type === 'resync' ? encodeFrame('resync', JSON.stringify(event.data)) : frame(event, event.data);
    frames++;
    start = i + 1;
  }
  return { text, frames, likes };
}

function encodeSegment(events: readonly TWireEvent[], from: number, to: number) {
  let lastLike = -1;
  let likeCount = 0;
  for (let i = from; i < to; i++) {
    const event = events[i] as TWireEvent;
    if (event.type === 'like') {
      lastLike = i;
      likeCount += likeCountOf(event);
    }
  }
  let text = '';
  let frames = 0;
  for (let i = from; i < to; i++) {
    const event = events[i] as TWireEvent;
    if (event.type === 'like') {
      if (i !== lastLike) continue;
      text += frame(event, { ...event.data, ...coalescedLike(events, from, to, likeCount) });
    } else {
      text += frame(event, event.data);
    }
    frames++;
  }
  return { text, frames, likes: likeCount };
}

function frame(event: TWireEvent, data: Record<string, unknown>): string {
  const envelope = { id: event.id, topic: event.topic, type: event.type, data, ts: event.ts };
  if (event.originId !== undefined) Object.assign(envelope, { originId: event.originId });
  return encodeFrame(event.type, JSON.stringify(envelope), event.id);
}

/** One event replayed on resume: its usual frame, with `replayed: true` in the envelope. */
export function encodeReplayedFrame(event: TWireEvent): string {
  const envelope = {
    id: event.id,
    topic: event.topic,
    type: event.type,
    data: event.data,
    ts: event.ts,
    replayed: true,
    ...(event.originId === undefined ? {} : { originId: event.originId }),
  };
  return encodeFrame(event.type, JSON.stringify(envelope), event.id);
}

/** A like event's count: its `count` when a positive integer, else 1. */
export function likeCountOf(event: TWireEvent): number {
  const count = event.data.count;
  return typeof count === 'number' && Number.isInteger(count) && count > 0 ? count : 1;
}

function coalescedLike(
  events: readonly TWireEvent[],
  from: number,
  to: number,
  count: number,
): Record<string, unknown> {
  let total: number | undefined;
  let totals: unknown;
  let named = false;
  const sample: Liker[] = [];
  const seen = new Set<string>();
  // Newest likers first, so the sample shows who liked last.
  for (let i = to - 1; i >= from; i--) {
    const event = events[i] as TWireEvent;
    if (event.type !== 'like') continue;
    const t = event.data.total;
    // Totals come from one store, each after the one before: the highest total's totals are the
    // highest per reaction too.
    if (typeof t === 'number' && (total === undefined || t > total)) {
      total = t;
      totals = event.data.totals;
    }
    if (event.data.byReaction !== undefined) named = true;
    const likers = event.data.sample;
    if (!Array.isArray(likers)) continue;
    for (const liker of likers as unknown[]) {
      if (sample.length >= MAX_LIKE_SAMPLE) break;
      if (!isLiker(liker) || seen.has(liker.id)) continue;
      seen.add(liker.id);
      sample.push({ id: liker.id, name: liker.name });
    }
  }
  const out: Record<string, unknown> = { count };
  // Per reaction only when a publisher named reactions: a frame of plain likes stays as it was.
  if (named) {
    const byReaction: TReactionCounts = {};
    for (let i = from; i < to; i++) {
      const event = events[i] as TWireEvent;
      if (event.type === 'like') addReactions(byReaction, event);
    }
    out.byReaction = byReaction;
  }
  if (total !== undefined) out.total = total;
  // Always set: the frame is laid over the last like's data, whose totals may not go with `total`.
  out.totals = totals;
  if (sample.length > 0) out.sample = sample.reverse();
  return out;
}

const KNOWN_REACTIONS: ReadonlySet<string> = new Set(REACTIONS);

/**
 * Adds a like event's count per reaction to `into`: its `byReaction` when that names known
 * reactions summing to its count (the dispatcher checked it on publish), else all of it as `like`.
 */
export function addReactions(into: TReactionCounts, event: TWireEvent): void {
  const count = likeCountOf(event);
  const named = event.data.byReaction as Record<string, unknown> | undefined;
  let sum = 0;
  if (typeof named === 'object' && named !== null) {
    for (const reaction in named) {
      const n = named[reaction];
      if (!KNOWN_REACTIONS.has(reaction) || typeof n !== 'number' || !Number.isInteger(n) || n < 0) {
        sum = -1;
        break;
      }
      sum += n;
    }
  }
  if (sum !== count) {
    into.like = (into.like ?? 0) + count;
    return;
  }
  const counts = named as Record<TReaction, number>;
  for (const reaction in counts) {
    const n = counts[reaction as TReaction];
    if (n > 0) into[reaction as TReaction] = (into[reaction as TReaction] ?? 0) + n;
  }
}

function isLiker(value: unknown): value is Liker {
  if (typeof value !== 'object' || value === null) return false;
  const { id, name } = value as Record<string, unknown>;
  return typeof id === 'string' && typeof name === 'string';
}
