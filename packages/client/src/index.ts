export * from './realtime-client.js';
export * from './shared-connection.js';
export type { HubConfig, HubMessage, RefusedReason, TabMessage, TopicsToken, TopicsTokenSource } from './shared-hub.js';
export { type HubClient, SharedHub, type SharedHubOptions } from './shared-hub.js';
export { asHubMessage, asTabMessage, SHARED_PROTOCOL_VERSION } from './shared-protocol.js';
export * from './token.js';
export {
  fittedReactions,
  foldTopicState,
  highestReactions,
  reactionCountsOf,
  reactionsAfterLike,
  type TopicState,
} from './topic-state.js';
export {
  type Comment,
  type CommentDeletedPayload,
  type ConnectedPayload,
  type EventEnvelope,
  type EventMap,
  type LikePayload,
  type OvationEvents,
  type PresencePayload,
  type Reaction,
  type ReactionCounts,
  type RealtimeTokenResponse,
  type ReconnectPayload,
  type ResyncPayload,
  type ResyncReason,
  type SnapshotPayload,
  type StatusPayload,
  type StreamPayload,
  type StreamState,
  type TypedEvent,
  type UntypedEvents,
  type User,
  VIDEOS_TOPIC,
  type Video,
  type VideoStatus,
  type ViewersPayload,
  videoTopic,
} from './wire.js';
