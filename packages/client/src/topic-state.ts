import { isVideoTopic } from './shared-protocol.js';
import type { EventEnvelope, Reaction, ReactionCounts, SnapshotPayload } from './wire.js';

/*
 * What a video topic's events say about its state now: the viewer count, the like total and the
 * status, folded from the topic's `snapshot` (sent when a connection joins or resumes it) and the
 * `viewers`, `like` and `status` events after it.
 *
 * Whoever joins a topic late needs this: a tab joining a topic the shared connection carries
 * already gets no snapshot from the node (the hub hands it this state instead), and a page whose
 * HTTP load read the count before an event it has already applied must not go back to the older
 * figure (useLiveVideo lays this state over what it loads). Only what the events say is kept: a
 * field no event has told yet stays undefined.
 */

export interface TopicState {
  viewers?: number | undefined;
  likes?: number | undefined;
  /** `likes` per reaction, once an event told them. */
  reactions?: ReactionCounts | undefined;
  status?: string | undefined;
}

const isCount = (value: unknown): value is number =>
  typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;

const REACTION_NAMES: readonly Reaction[] = ['like', 'celebrate', 'support', 'love', 'insightful', 'funny'];

/** The known reactions' counts of an untrusted value (undefined: not a record of counts). */
export function reactionCountsOf(value: unknown): ReactionCounts | undefined {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
  const counts: ReactionCounts = {};
  for (const reaction of REACTION_NAMES) {
    const n = (value as Record<string, unknown>)[reaction];
    if (n === undefined) continue;
    if (!isCount(n)) return undefined;
    if (n > 0) counts[reaction] = n;
  }
  return counts;
}

/** The sum of counts per reaction. */
function sumOf(counts: ReactionCounts): number {
  let sum = 0;
  for (const reaction of REACTION_NAMES) sum += counts[reaction] ?? 0;
  return sum;
}

/** Two counts per reaction added up. */
export function addedReactions(a: ReactionCounts | undefined, b: ReactionCounts): ReactionCounts {
  const out: ReactionCounts = { ...a };
  for (const reaction of REACTION_NAMES) {
    const n = b[reaction];
    if (n) out[reaction] = (out[reaction] ?? 0) + n;
  }
  return out;
}

/**
 * Counts per reaction fitted to a like total: `like`, the reaction of every like that names none,
 * takes up a shortfall or gives up an excess (not below 0), so what is shown adds up when it can.
 */
export function fittedReactions(reactions: ReactionCounts | undefined, likes: number): ReactionCounts {
  const out: ReactionCounts = { ...reactions };
  const gap = likes - sumOf(out);
  const like = Math.max(0, (out.like ?? 0) + gap);
  if (like > 0) out.like = like;
  else delete out.like;
  return out;
}

/** A like event's count per reaction: its `byReaction`, or all of `count` as `like`. */
export function likeReactions(data: { count?: unknown; byReaction?: unknown }): ReactionCounts | undefined {
  const named = reactionCountsOf(data.byReaction);
  if (named !== undefined) return named;
  return isCount(data.count) ? { like: data.count } : undefined;
}

/**
 * The totals per reaction after a like event, the like total being `likes` after it: with the
 * event's `totals`, the higher of those and the ones known, per reaction (totals only grow; the
 * page's own taps may be counted already); without, the event's own likes per reaction added —
 * fitted to `likes` either way (a publisher's totals and the tier's count may differ).
 */
export function reactionsAfterLike(
  reactions: ReactionCounts | undefined,
  data: { count?: unknown; byReaction?: unknown; totals?: unknown },
  likes: number,
): ReactionCounts {
  const totals = reactionCountsOf(data.totals);
  const next =
    totals !== undefined ? highestReactions(reactions, totals) : addedReactions(reactions, likeReactions(data) ?? {});
  return fittedReactions(next, likes);
}

/** Per reaction, the higher of two counts. */
export function highestReactions(a: ReactionCounts | undefined, b: ReactionCounts): ReactionCounts {
  const out: ReactionCounts = { ...a };
  for (const reaction of REACTION_NAMES) {
    const n = b[reaction];
    if (n !== undefined && n > (out[reaction] ?? 0)) out[reaction] = n;
  }
  return out;
}

/**
 * The state after `event` (the same object when the event says nothing about it). The payloads
 * come from another process or tab: a field of the wrong shape is ignored, never trusted.
 */
export function foldTopicState(
  state: TopicState | undefined,
  event: EventEnvelope<string, object>,
): TopicState | undefined {
  // Only Ovation's video topics: a publisher's own topic may use these type names for other things.
  if (!isVideoTopic(event.topic)) return state;
  const data = event.data as Record<string, unknown>;
  switch (event.type) {
    case 'snapshot':
      // The whole state as the node knows it when the stream joined or resumed the topic.
      return {
        viewers: isCount(data.viewers) ? data.viewers : state?.viewers,
        likes: isCount(data.likes) ? Math.max(data.likes, state?.likes ?? 0) : state?.likes,
        reactions:
          isCount(data.likes) && data.likes >= (state?.likes ?? 0)
            ? fittedReactions(reactionCountsOf(data.reactions), data.likes)
            : state?.reactions,
        status: typeof data.status === 'string' ? data.status : state?.status,
      };
    case 'viewers':
      return isCount(data.count) ? { ...state, viewers: data.count } : state;
    case 'like': {
      // The tier's total when it knows it (never lower: totals can arrive out of step), else the
      // count added to a total known from before; with neither, the total stays unknown. The
      // same per reaction (reactionsAfterLike), once a snapshot or the event's totals told them.
      const likes = isCount(data.total)
        ? Math.max(data.total, state?.likes ?? 0)
        : isCount(data.count) && state?.likes !== undefined
          ? state.likes + data.count
          : undefined;
      if (likes === undefined) return state;
      const told = state?.reactions !== undefined || reactionCountsOf(data.totals) !== undefined;
      return { ...state, likes, reactions: told ? reactionsAfterLike(state?.reactions, data, likes) : undefined };
    }
    case 'status':
      return typeof data.status === 'string' ? { ...state, status: data.status } : state;
    default:
      return state;
  }
}

/**
 * The state as a `snapshot` event for someone who joins the topic late, or undefined until the
 * viewer count and the like total are both known. `id` is the topic's last event id: the state is
 * as of that event, and a resume point like any snapshot's.
 */
export function snapshotEvent(
  topic: string,
  id: string,
  state: TopicState | undefined,
  ts: number,
): EventEnvelope | undefined {
  if (state?.viewers === undefined || state.likes === undefined) return undefined;
  const data = {
    viewers: state.viewers,
    likes: state.likes,
    ...(state.reactions === undefined ? {} : { reactions: state.reactions }),
    ...(state.status === undefined ? {} : { status: state.status }),
  } satisfies SnapshotPayload;
  // `replayed`: not live, so it says nothing about delivery latency.
  return { id, topic, type: 'snapshot', data, ts, replayed: true };
}
