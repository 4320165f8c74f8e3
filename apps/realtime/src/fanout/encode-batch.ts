import { encodeFrame, type TWireEvent } from '@ovation/shared';

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
 * sum invariant holds exactly), `total` the highest total seen, and `sample` the latest distinct
 * likers. The frame takes the place, id and publish time of the last like, so ids in the stream
 * stay in publish order. Every other event is encoded as it came, but for `resync`, which the
 * node itself puts in a topic's stream when a gap cannot be repaired: a control frame, no id.
 *
 * Cost: one JSON.stringify per non-like event, one for the coalesced like, one string join.
 */
export function encodeTopicBatch(events: readonly TWireEvent[]): { text: string; frames: number; likes: number } {
  let lastLike = -1;
  let likeCount = 0;
  for (let i = 0; i < events.length; i++) {
    const event = events[i] as TWireEvent;
    if (event.type === 'like') {
      lastLike = i;
      likeCount += likeCountOf(event);
    }
  }

  let text = '';
  let frames = 0;
  for (let i = 0; i < events.length; i++) {
    const event = events[i] as TWireEvent;
    if (event.type === 'like') {
      if (i !== lastLike) continue;
      const data = { ...event.data, ...coalescedLike(events, likeCount) };
      text += frame(event, data);
    } else if (event.type === 'resync') {
      // The node's own control frame (fanout/topic-order.ts): its payload as is, and no id.
      text += encodeFrame('resync', JSON.stringify(event.data));
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

function coalescedLike(events: readonly TWireEvent[], count: number): Record<string, unknown> {
  let total: number | undefined;
  const sample: Liker[] = [];
  const seen = new Set<string>();
  // Newest likers first, so the sample shows who liked last.
  for (let i = events.length - 1; i >= 0; i--) {
    const event = events[i] as TWireEvent;
    if (event.type !== 'like') continue;
    const t = event.data.total;
    if (typeof t === 'number' && (total === undefined || t > total)) total = t;
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
  if (total !== undefined) out.total = total;
  if (sample.length > 0) out.sample = sample.reverse();
  return out;
}

function isLiker(value: unknown): value is Liker {
  if (typeof value !== 'object' || value === null) return false;
  const { id, name } = value as Record<string, unknown>;
  return typeof id === 'string' && typeof name === 'string';
}
