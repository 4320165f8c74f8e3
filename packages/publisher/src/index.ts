export { PublishError } from './errors.js';
export {
  type CommentData,
  type CommentDeletedData,
  type CommentDeletedEvent,
  type CommentEvent,
  type EventData,
  type EventOptions,
  events,
  type LikeData,
  type LikeEvent,
  type PublishEvent,
  type Reaction,
  type ReactionCounts,
  type ReservedEventType,
  type StatusData,
  type StatusEvent,
  type User,
  type VideoStatus,
  videoTopic,
} from './events.js';
export {
  EVENT_TYPE_PATTERN,
  IDEMPOTENCY_KEY_PATTERN,
  MAX_EVENT_DATA_BYTES,
  MAX_PUBLISH_BATCH,
  MAX_PUBLISH_BODY_BYTES,
  RESERVED_EVENT_TYPES,
  TOPIC_PATTERN,
} from './limits.js';
export { type BatchOptions, Publisher, type PublisherOptions } from './publisher.js';
export type { RetryOptions } from './transport.js';
