import { fittedReactions, foldTopicState, type OvationEvents, type TopicState, type TypedEvent } from '@ovation/client';
import type { QueryClient } from '@tanstack/react-query';
import { type CommentsData, commentsAfter, type VideoData } from './live-video-cache.js';

/*
 * A load of the video or its comments answers with what the server read at some moment while it
 * was under way; the stream's events meanwhile were written into the cache already, and the answer
 * lands on top of them. Without care it would take them back: the viewer count falls back to the
 * figure read before the viewer was counted (and stays there until the count changes again), a
 * comment that arrived during the load disappears. So the events heard while a load is under way
 * are kept, and each answer has those heard since it started laid over it.
 *
 * They are kept per query client and video, not per hook: react-query shares a load under way
 * between the hooks of one video (a component mounted again joins the load its first mount began),
 * and an entry lives only while a load is under way.
 */

/** Events kept while loads are under way: a bound on memory for a stream busy during a slow load. */
export const MAX_EVENTS_DURING_LOAD = 1_000;

type Event = TypedEvent<OvationEvents>;

export class EventsDuringLoads {
  private events: Event[] = [];
  /** Each kept event's type and id: two hooks of one video hear every event twice. */
  private readonly keys = new Set<string>();
  /** The number of events heard before `events[0]` since loads were last all done. */
  private dropped = 0;
  private loads = 0;

  get idle(): boolean {
    return this.loads === 0;
  }

  /** An event applied to the cache (kept only while a load is under way). */
  heard(event: Event): void {
    const key = `${event.type}:${event.id}`;
    if (this.loads === 0 || this.keys.has(key)) return;
    this.events.push(event);
    this.keys.add(key);
    if (this.events.length > MAX_EVENTS_DURING_LOAD) {
      const oldest = this.events.shift() as Event;
      this.keys.delete(`${oldest.type}:${oldest.id}`);
      this.dropped += 1;
    }
  }

  /** `load`'s answer with the events heard while it ran laid over it (see `over`). */
  async load<T>(load: () => Promise<T>, over: (answer: T, events: readonly Event[]) => T): Promise<T> {
    const start = this.dropped + this.events.length;
    this.loads += 1;
    try {
      const answer = await load();
      // Past the bound the oldest were dropped: what is kept is the newest.
      return over(answer, this.events.slice(Math.max(0, start - this.dropped)));
    } finally {
      this.loads -= 1;
      if (this.loads === 0) {
        this.events = [];
        this.keys.clear();
        this.dropped = 0;
      }
    }
  }
}

const underWay = new WeakMap<QueryClient, Map<string, EventsDuringLoads>>();

/** An event of `videoId`'s topic a hook applied to `queryClient`'s cache. */
export function heardDuringLoads(queryClient: QueryClient, videoId: string, event: Event): void {
  underWay.get(queryClient)?.get(videoId)?.heard(event);
}

/** Loads `videoId`'s video or comments for `queryClient`'s cache, with the events heard meanwhile laid over. */
export async function loadWithEvents<T>(
  queryClient: QueryClient,
  videoId: string,
  load: () => Promise<T>,
  over: (answer: T, events: readonly Event[]) => T,
): Promise<T> {
  let videos = underWay.get(queryClient);
  if (!videos) {
    videos = new Map();
    underWay.set(queryClient, videos);
  }
  let loads = videos.get(videoId);
  if (!loads) {
    loads = new EventsDuringLoads();
    videos.set(videoId, loads);
  }
  try {
    return await loads.load(load, over);
  } finally {
    if (loads.idle && videos.get(videoId) === loads) videos.delete(videoId);
  }
}

/**
 * The video as loaded, with what the events since say about its count, total and status. A like
 * without a total is left out: the load may have counted it already.
 */
export function videoWithEvents(answer: VideoData, events: readonly Event[]): VideoData {
  let state: TopicState | undefined;
  for (const event of events) state = foldTopicState(state, event);
  if (!state) return answer;
  const video = answer.video;
  const { viewers, likes, reactions, status } = state;
  return {
    video: {
      ...video,
      ...(viewers === undefined ? {} : { viewers }),
      likes: Math.max(video.likes, likes ?? 0),
      // The events' reactions when their total is the newer one (the load's otherwise).
      ...(reactions !== undefined && (likes ?? 0) >= video.likes
        ? { reactions: fittedReactions(reactions, Math.max(video.likes, likes ?? 0)) }
        : {}),
      ...(status === 'live' || status === 'ended' ? { status } : {}),
    },
  };
}

/** The comments as loaded, with the comments posted and deleted since. */
export function commentsWithEvents(answer: CommentsData, events: readonly Event[]): CommentsData {
  return events.reduce(commentsAfter, answer);
}
