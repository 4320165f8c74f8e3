import type { RESERVED_EVENT_TYPES } from './limits.js';

/*
 * The events a backend publishes, typed as viewers receive them (the contract's event list). The
 * types are declared here, not imported from the server's schemas, so the package has no private
 * dependency; test/wire-types.test.ts fails the build when they drift from the server's.
 */

/** Any JSON object (at most 8 KiB encoded). */
export type EventData = { [field: string]: unknown };

export type ReservedEventType = (typeof RESERVED_EVENT_TYPES)[number];

/** One event for `POST /publish`. `key`: its own idempotency key (a repeat within 10 minutes is not accepted again). */
export interface PublishEvent<Type extends string = string, Data extends EventData = EventData> {
  topic: string;
  type: Type;
  data: Data;
  key?: string;
}

export type User = { id: string; name: string };

/** What a viewer can react with; `like` is the default. */
export type Reaction = 'like' | 'celebrate' | 'support' | 'love' | 'insightful' | 'funny';

/** Counts per reaction; one not named counts 0. */
export type ReactionCounts = Partial<Record<Reaction, number>>;

/**
 * `like`: `count` ≥ 1 likes since the previous like event; `byReaction` splits them per reaction
 * (summing to `count`; absent: all `like`); `total`, `totals` (per reaction) and `sample` pass
 * through to pages.
 */
export type LikeData = {
  count: number;
  total?: number;
  byReaction?: ReactionCounts;
  totals?: ReactionCounts;
  sample?: User[];
};

export type CommentData = {
  id: string;
  videoId: string;
  author: User;
  text: string;
  /** ISO 8601 time. */
  at: string;
  /** Comments by the video's owner: pages show a badge. */
  owner?: true;
};

export type CommentDeletedData = { id: string; videoId: string };

export type VideoStatus = 'live' | 'ended';
export type StatusData = { videoId: string; status: VideoStatus };

export type LikeEvent = PublishEvent<'like', LikeData>;
export type CommentEvent = PublishEvent<'comment', CommentData>;
export type CommentDeletedEvent = PublishEvent<'comment_deleted', CommentDeletedData>;
export type StatusEvent = PublishEvent<'status', StatusData>;

/** A live video's topic. */
export function videoTopic(videoId: string): string {
  return `video:${videoId}`;
}

/** Where a builder's event goes (its video's topic by default) and its own idempotency key. */
export interface EventOptions {
  topic?: string;
  key?: string;
}

function build<Type extends string, Data extends EventData>(
  type: Type,
  defaultTopic: string,
  data: Data,
  options: EventOptions,
): PublishEvent<Type, Data> {
  const event: PublishEvent<Type, Data> = { topic: options.topic ?? defaultTopic, type, data };
  if (options.key !== undefined) event.key = options.key;
  return event;
}

/** Builders of the product's events, each on its video's topic unless `options.topic` says otherwise. */
export const events = {
  like(videoId: string, data: LikeData, options: EventOptions = {}): LikeEvent {
    return build('like', videoTopic(videoId), data, options);
  },
  comment(comment: CommentData, options: EventOptions = {}): CommentEvent {
    return build('comment', videoTopic(comment.videoId), comment, options);
  },
  commentDeleted(data: CommentDeletedData, options: EventOptions = {}): CommentDeletedEvent {
    return build('comment_deleted', videoTopic(data.videoId), data, options);
  },
  status(videoId: string, status: VideoStatus, options: EventOptions = {}): StatusEvent {
    return build('status', videoTopic(videoId), { videoId, status }, options);
  },
  /** An event of the application's own; a type the server reserves does not compile. */
  custom<Type extends string, Data extends EventData>(
    topic: string,
    type: Type extends ReservedEventType ? never : Type,
    data: Data,
    options: Omit<EventOptions, 'topic'> = {},
  ): PublishEvent<Type, Data> {
    return build(type, topic, data, options);
  },
};
