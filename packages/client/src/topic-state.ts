import { isVideoTopic } from './shared-protocol.js';
import type { EventEnvelope, SnapshotPayload } from './wire.js';

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
  status?: string | undefined;
}

const isCount = (value: unknown): value is number =>
  typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;

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
        status: typeof data.status === 'string' ? data.status : state?.status,
      };
    case 'viewers':
      return isCount(data.count) ? { ...state, viewers: data.count } : state;
    case 'like': {
      // The tier's total when it knows it (never lower: totals can arrive out of step), else the
      // count added to a total known from before; with neither, the total stays unknown.
      if (isCount(data.total)) return { ...state, likes: Math.max(data.total, state?.likes ?? 0) };
      if (isCount(data.count) && state?.likes !== undefined) return { ...state, likes: state.likes + data.count };
      return state;
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
    ...(state.status === undefined ? {} : { status: state.status }),
  } satisfies SnapshotPayload;
  // `replayed`: not live, so it says nothing about delivery latency.
  return { id, topic, type: 'snapshot', data, ts, replayed: true };
}
