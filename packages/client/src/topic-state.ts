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

/** Per reaction, the higher of two totals (totals only grow; they can arrive out of step). */
export function highestReactions(a: ReactionCounts | undefined, b: ReactionCounts): ReactionCounts {
  const out: ReactionCounts = { ...a };
  for (const reaction of REACTION_NAMES) {
    const n = b[reaction];
    if (n !== undefined && n > (out[reaction] ?? 0)) out[reaction] = n;
  }
  return out;
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
 * Reactions that sum to less than the like total (a publisher that sends a total but no totals
 * per reaction) are topped up with `like`, the reaction of every like that names none.
 */
export function toppedUpReactions(reactions: ReactionCounts, likes: number): ReactionCounts {
  let sum = 0;
  for (const reaction of REACTION_NAMES) sum += reactions[reaction] ?? 0;
  return sum < likes ? { ...reactions, like: (reactions.like ?? 0) + likes - sum } : reactions;
}

/** A like event's count per reaction: its `byReaction`, or all of `count` as `like`. */
export function likeReactions(data: { count?: unknown; byReaction?: unknown }): ReactionCounts | undefined {
  const named = reactionCountsOf(data.byReaction);
  if (named !== undefined) return named;
  return isCount(data.count) ? { like: data.count } : undefined;
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
            ? (reactionCountsOf(data.reactions) ?? { like: data.likes })
            : state?.reactions,
        status: typeof data.status === 'string' ? data.status : state?.status,
      };
    case 'viewers':
      return isCount(data.count) ? { ...state, viewers: data.count } : state;
    case 'like': {
      // The tier's total when it knows it (never lower: totals can arrive out of step), else the
      // count added to a total known from before; with neither, the total stays unknown. The
      // same per reaction (a total without totals per reaction: `like` makes up the difference).
      const totals = reactionCountsOf(data.totals);
      const added = likeReactions(data);
      const reactions =
        totals !== undefined
          ? highestReactions(state?.reactions, totals)
          : !isCount(data.total) && added !== undefined && state?.reactions !== undefined
            ? addedReactions(state.reactions, added)
            : state?.reactions;
      const likes = isCount(data.total)
        ? Math.max(data.total, state?.likes ?? 0)
        : isCount(data.count) && state?.likes !== undefined
          ? state.likes + data.count
          : undefined;
      if (likes === undefined) return state;
      return { ...state, likes, reactions: reactions && toppedUpReactions(reactions, likes) };
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
