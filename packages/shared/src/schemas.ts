import { z } from 'zod';
import { checkHlsUrl, MAX_HLS_URL_LENGTH } from './hls-url.js';
import { LATENCY_BUCKET_COUNT, MAX_LATENCY_SAMPLE_MS } from './latency.js';
import {
  EVENT_TYPE_PATTERN,
  IDEMPOTENCY_KEY_PATTERN,
  MAX_EVENT_DATA_BYTES,
  MAX_LIKE_BATCH,
  MAX_PUBLISH_BATCH,
  MAX_TOPICS_PER_CONNECTION,
  RESERVED_EVENT_TYPES,
  SERVER_PUBLISHED_TYPES,
  TOPIC_PATTERN,
  utf8ByteLength,
} from './limits.js';
import { userTextSchema } from './text.js';

/*
 * Every message that crosses a process, as a schema and its inferred type side by side.
 * Services validate with `parseWith` (validate.ts) at every boundary.
 */

export const TopicSchema = z.string().regex(TOPIC_PATTERN, 'must match ^[A-Za-z0-9:_-]{1,128}$');
export const EventTypeSchema = z.string().regex(EVENT_TYPE_PATTERN, 'must match ^[a-z_]{1,32}$');
export const EventDataSchema = z
  .record(z.string(), z.unknown())
  .refine((data) => utf8ByteLength(JSON.stringify(data)) <= MAX_EVENT_DATA_BYTES, {
    message: `must be at most ${MAX_EVENT_DATA_BYTES} bytes as JSON`,
  });
export type TEventData = z.infer<typeof EventDataSchema>;

/** The reactions a viewer can send; `like` is the default and the one older clients know. */
export const REACTIONS = ['like', 'celebrate', 'support', 'love', 'insightful', 'funny'] as const;
export const ReactionSchema = z.enum(REACTIONS);
export type TReaction = z.infer<typeof ReactionSchema>;

/** Counts per reaction; a reaction not named counts 0. */
export const ReactionCountsSchema = z.partialRecord(ReactionSchema, z.number().int().nonnegative());
export type TReactionCounts = z.infer<typeof ReactionCountsSchema>;

/**
 * Counts per reaction between the platform's own processes (catch-up, node state, snapshots,
 * relayed likes): any lowercase name, so a process of a later version that knows another reaction
 * is understood rather than refused (processes that do not know a name count those likes as `like`).
 */
export const WireReactionCountsSchema = z
  .record(z.string().regex(/^[a-z_]{1,32}$/), z.number().int().nonnegative())
  .refine((counts) => Object.keys(counts).length <= 16, { message: 'must name at most 16 reactions' });

// Event payloads on a video topic (the contract's event list).
/**
 * A `like` payload whose reaction counts are held to `counts`: the contract's names for publishers
 * (LikePayloadSchema), any name between the platform's processes (RelayedLikePayloadSchema).
 */
function likePayloadSchema<C extends z.ZodType<Partial<Record<string, number>>>>(counts: C) {
  return z
    .object({
      count: z.number().int().positive(),
      total: z.number().int().nonnegative().optional(),
      /** This event's count per reaction (summing to `count`); absent: all `like`. */
      byReaction: counts.optional(),
      /** The video's totals per reaction when it was published. */
      totals: counts.optional(),
      sample: z.array(z.object({ id: z.string(), name: z.string() })).optional(),
    })
    .refine(
      (like) =>
        like.byReaction === undefined ||
        Object.values(like.byReaction as Partial<Record<string, number>>).reduce<number>((a, b) => a + (b ?? 0), 0) ===
          like.count,
      { message: 'byReaction must sum to count', path: ['byReaction'] },
    );
}

export const LikePayloadSchema = likePayloadSchema(ReactionCountsSchema);
export type TLikePayload = z.infer<typeof LikePayloadSchema>;

/** The sum of a reaction count record. */
export function reactionSum(counts: TReactionCounts): number {
  let sum = 0;
  for (const reaction of REACTIONS) sum += counts[reaction] ?? 0;
  return sum;
}

/** The reactions stores keep a count of besides the total (`like` is the rest of it). */
export const COUNTED_REACTIONS = REACTIONS.filter((reaction) => reaction !== 'like');

/**
 * Totals per reaction from a total and the counts of the other reactions: `like` is the rest (a
 * total from before reactions is all likes), so the totals always sum to `total`. Reactions at 0
 * are left out.
 */
export function reactionTotals(total: number, others: TReactionCounts): TReactionCounts {
  const totals: TReactionCounts = {};
  let rest = total;
  for (const reaction of COUNTED_REACTIONS) {
    const count = Math.min(rest, others[reaction] ?? 0);
    if (count > 0) totals[reaction] = count;
    rest -= count;
  }
  if (rest > 0) totals.like = rest;
  return totals;
}

/** `Idempotency-Key` (dispatcher publish, web writes) and a batch event's `key`. */
export const IdempotencyKeySchema = z
  .string()
  .transform((s) => s.trim())
  .pipe(z.string().regex(IDEMPOTENCY_KEY_PATTERN, 'must be 1-128 printable ASCII characters'));

// ---------- dispatcher: public publish API ----------

/** A type a publisher may use: not one of the names the server sends itself (RESERVED_EVENT_TYPES, SERVER_PUBLISHED_TYPES). */
export const PublishableTypeSchema = EventTypeSchema.refine(
  (type) => !RESERVED_EVENT_TYPES.has(type) && !SERVER_PUBLISHED_TYPES.has(type),
  { message: `is reserved for the server (${[...RESERVED_EVENT_TYPES, ...SERVER_PUBLISHED_TYPES].join(', ')})` },
);

export const PublishEventSchema = z
  .object({
    topic: TopicSchema,
    type: PublishableTypeSchema,
    data: EventDataSchema,
    /** In a batch: this event's own idempotency key (a repeat within 10 minutes is not accepted again). */
    key: IdempotencyKeySchema.optional(),
  })
  .superRefine((event, ctx) => {
    // Likes are summed by fan-out, so their payload must be what the contract says it is.
    if (event.type !== 'like') return;
    const like = LikePayloadSchema.safeParse(event.data);
    for (const issue of like.success ? [] : like.error.issues) {
      ctx.addIssue({ code: 'custom', message: issue.message, path: ['data', ...issue.path] });
    }
  });
export type TPublishEvent = z.infer<typeof PublishEventSchema>;

export const PublishBatchSchema = z.object({
  events: z
    .array(PublishEventSchema)
    .min(1, 'must hold at least one event')
    .max(MAX_PUBLISH_BATCH, `must hold at most ${MAX_PUBLISH_BATCH} events`)
    .superRefine((events, ctx) => {
      // One key, one event: the same key twice in a batch could only mean a publisher bug.
      const seen = new Set<string>();
      events.forEach((event, i) => {
        if (event.key === undefined) return;
        if (seen.has(event.key))
          ctx.addIssue({ code: 'custom', message: 'is used by an earlier event of the batch', path: [i, 'key'] });
        seen.add(event.key);
      });
    }),
});
export type TPublishBatch = z.infer<typeof PublishBatchSchema>;

export const PublishResponseSchema = z.object({ ids: z.array(z.string()) });
export type TPublishResponse = z.infer<typeof PublishResponseSchema>;

export const ViewersResponseSchema = z.object({
  count: z.number().int().nonnegative(),
  byRegion: z.record(z.string(), z.number().int().nonnegative()),
});
export type TViewersResponse = z.infer<typeof ViewersResponseSchema>;

// ---------- dispatcher -> realtime node ----------

/** One event as the dispatcher tier hands it to frontend nodes. */
export const WireEventSchema = z.object({
  id: z.string().min(1).max(128),
  topic: TopicSchema,
  type: EventTypeSchema,
  data: z.record(z.string(), z.unknown()),
  /** Publish time, ms since the epoch, stamped by the accepting dispatcher. */
  ts: z.number(),
  /** Region whose dispatcher accepted the publish. */
  region: z.string().min(1).max(64),
  /**
   * For an event relayed from another region: its id there (`id` is this region's position id).
   * The same event has one `originId` in every region; relays are deduplicated by it.
   */
  originId: z.string().min(1).max(128).optional(),
});
export type TWireEvent = z.infer<typeof WireEventSchema>;

export const DeliverBatchSchema = z.object({ events: z.array(WireEventSchema).min(1) });

/**
 * An event as a region relays it: a wire event, and — when it was published under an idempotency
 * key — `relayKey`, that key's identity in its region (`e:<event key>` or `r:<request key>:<index>`):
 * a publisher that sent it again after its region lost the first answer (Redis restarted empty)
 * gets it accepted there twice, with two ids, and a peer still takes it once.
 */
export const RelayWireEventSchema = WireEventSchema.extend({
  relayKey: z.string().min(1).max(200).optional(),
});
export type TRelayWireEvent = z.infer<typeof RelayWireEventSchema>;

/** A relayed like: as LikePayloadSchema, but reactions by any name (see WireReactionCountsSchema). */
const RelayedLikePayloadSchema = likePayloadSchema(WireReactionCountsSchema);

/**
 * An event relayed from another region: held to what this region would accept from a publisher
 * (a publishable type, data within 8 KiB, like payloads as the contract says but reactions by any
 * name) and to sane routing facts — its publish time becomes part of this region's ids, its
 * region a metric label.
 */
export const RelayedEventSchema = RelayWireEventSchema.extend({
  type: PublishableTypeSchema,
  data: EventDataSchema,
  ts: z.number().int().min(0).max(10_000_000_000_000),
  region: z.string().regex(/^[A-Za-z0-9._-]{1,64}$/),
}).superRefine((event, ctx) => {
  if (event.type !== 'like') return;
  for (const issue of RelayedLikePayloadSchema.safeParse(event.data).error?.issues ?? []) {
    ctx.addIssue({ code: 'custom', message: issue.message, path: ['data', ...issue.path] });
  }
});

/** POST /internal/relay: the batch's shape; each event is then held to RelayedEventSchema on its own. */
export const RelayBatchSchema = z.object({ events: z.array(RelayWireEventSchema).min(1).max(5000) });
export type TRelayBatch = z.infer<typeof RelayBatchSchema>;

/** POST /internal/region-counts: another region's viewers per topic, valid for `ttlMs`. */
export const RegionCountsSchema = z.object({
  region: z.string().regex(/^[A-Za-z0-9._-]{1,64}$/),
  counts: z.record(TopicSchema, z.number().int().nonnegative()),
  ttlMs: z.number().int().positive().max(600_000),
});
export type TRegionCounts = z.infer<typeof RegionCountsSchema>;
export type TDeliverBatch = z.infer<typeof DeliverBatchSchema>;

// ---------- realtime node -> dispatcher (registry) ----------

const NodeIdSchema = z.string().regex(/^[A-Za-z0-9._-]{1,64}$/, 'must match ^[A-Za-z0-9._-]{1,64}$');
const NodeUrlSchema = z.url({ protocol: /^https?$/ });

export const LatencyBucketsSchema = z.array(z.number().int().nonnegative()).length(LATENCY_BUCKET_COUNT);

/**
 * Topics in one node → dispatcher message. A node may hold any number of topics (100,000 is
 * tested); what it sends is cut into parts of at most this many, so a body stays small (at most
 * ~1 MB with the longest topic names) whatever the node holds.
 */
export const MAX_TOPICS_PER_NODE_MESSAGE = 5000;

const TopicCountsSchema = z
  .record(TopicSchema, z.number().int().nonnegative())
  .refine((counts) => Object.keys(counts).length <= MAX_TOPICS_PER_NODE_MESSAGE, {
    message: `must hold at most ${MAX_TOPICS_PER_NODE_MESSAGE} topics`,
  });

/**
 * Liveness, and the viewer counts that changed since the node's previous heartbeat (all of them
 * may take several heartbeats in a row). `topics` is how many topics the node holds: when the
 * registry holds another number (a lost update) or does not know the node (new, expired, a store
 * that lost its data), the ack asks for a full sync (NodeSyncSchema).
 */
export const NodeHeartbeatSchema = z.object({
  nodeId: NodeIdSchema,
  url: NodeUrlSchema,
  counts: TopicCountsSchema,
  topics: z.number().int().nonnegative(),
  /** Client-reported latency bucket counts per topic since the node's previous heartbeat. */
  latency: z
    .record(TopicSchema, LatencyBucketsSchema)
    .refine((latency) => Object.keys(latency).length <= MAX_TOPICS_PER_NODE_MESSAGE, {
      message: `must hold at most ${MAX_TOPICS_PER_NODE_MESSAGE} topics`,
    })
    .optional(),
});
export type TNodeHeartbeat = z.infer<typeof NodeHeartbeatSchema>;

/** Origin logs a node remembers relayed events of, per topic (see TopicStateSchema `relayed`). */
export const MAX_RELAYED_ORIGINS = 4;

/**
 * A topic's state as a node last saw it (like total, status), for a store that lost it. `relayed`:
 * per origin log (`<epoch>-<region>` of the events' `originId`) the highest origin position this
 * node let out, so a store that lost its data still knows those relayed events arrived.
 */
export const TopicStateSchema = z.object({
  likes: z.number().int().nonnegative(),
  /** `likes` per reaction (absent: all `like`). */
  reactions: WireReactionCountsSchema.optional(),
  status: z.string().max(32).optional(),
  viewers: z.number().int().nonnegative().optional(),
  relayed: z
    .record(z.string().regex(/^[0-9a-z]{8}-[A-Za-z0-9._-]{1,64}$/), z.number().int().nonnegative())
    .refine((origins) => Object.keys(origins).length <= MAX_RELAYED_ORIGINS, {
      message: `must hold at most ${MAX_RELAYED_ORIGINS} origins`,
    })
    .optional(),
});
export type TTopicState = z.infer<typeof TopicStateSchema>;

/**
 * One part of a node's full state: every topic with its viewer count, in parts of at most
 * MAX_TOPICS_PER_NODE_MESSAGE; the `last` part removes the node's topics no part of this sync
 * named. `state` carries what the node knows of each topic's log (like total, status), so a store
 * that lost its data gets them back instead of restarting from zero.
 */
export const NodeSyncSchema = z.object({
  nodeId: NodeIdSchema,
  url: NodeUrlSchema,
  syncId: z.string().regex(/^[A-Za-z0-9_-]{1,32}$/),
  last: z.boolean(),
  counts: TopicCountsSchema,
  state: z
    .record(TopicSchema, TopicStateSchema)
    .refine((state) => Object.keys(state).length <= MAX_TOPICS_PER_NODE_MESSAGE, {
      message: `must hold at most ${MAX_TOPICS_PER_NODE_MESSAGE} topics`,
    })
    .optional(),
});
export type TNodeSync = z.infer<typeof NodeSyncSchema>;

/** Incremental change: first local viewer of a topic arrived (`add`) or the last one left (`remove`). */
export const NodeTopicsSchema = z.object({
  nodeId: NodeIdSchema,
  url: NodeUrlSchema,
  add: z.array(TopicSchema).max(MAX_TOPICS_PER_NODE_MESSAGE).default([]),
  remove: z.array(TopicSchema).max(MAX_TOPICS_PER_NODE_MESSAGE).default([]),
});
export type TNodeTopics = z.infer<typeof NodeTopicsSchema>;

export const NodeAckSchema = z.object({
  ok: z.literal(true),
  ttlMs: z.number().int().positive(),
  /** The registry does not hold this node's full state: send it (NodeSyncSchema). */
  resync: z.boolean().optional(),
});
export type TNodeAck = z.infer<typeof NodeAckSchema>;

/**
 * POST /internal/catch-up: what a node needs to hand new subscribers over to the live stream —
 * per topic, the current state (snapshot) and, when `from` is given, every history event after
 * that log position. Read atomically per topic.
 */
export const CatchUpRequestSchema = z.object({
  topics: z
    .array(
      z.object({
        topic: TopicSchema,
        from: z.number().int().nonnegative().optional(),
        /** With `from`: history only when the topic's log has one of these epochs (else it cannot match). */
        epochs: z
          .array(z.string().regex(/^[0-9a-z]{8}$/))
          .max(64)
          .optional(),
      }),
    )
    .min(1)
    .max(1000),
});
export type TCatchUpRequest = z.infer<typeof CatchUpRequestSchema>;

export const TopicCatchUpSchema = z.object({
  topic: TopicSchema,
  /** The topic log's epoch and current position (its last event; 0 before the first). */
  epoch: z.string().regex(/^[0-9a-z]{8}$/),
  pos: z.number().int().nonnegative(),
  /** History may have dropped events up to this position: resume points below it are incomplete. */
  trimmedThrough: z.number().int().nonnegative(),
  /** Resume points older than this (by their publish time) are too old to resume from. */
  maxAgeMs: z.number().int().positive(),
  region: z.string().min(1).max(64),
  viewers: z.number().int().nonnegative(),
  likes: z.number().int().nonnegative(),
  /** `likes` per reaction, summing to it (absent: all `like`). */
  reactions: WireReactionCountsSchema.optional(),
  status: z.string().max(32).optional(),
  /** History events after `from`, oldest first (empty when no `from` was asked). */
  events: z.array(WireEventSchema),
  /** The history after `from` was more than one read returns: `events` stops short (resync). */
  cut: z.boolean().optional(),
});
export type TTopicCatchUp = z.infer<typeof TopicCatchUpSchema>;

export const CatchUpResponseSchema = z.object({ topics: z.array(TopicCatchUpSchema) });
export type TCatchUpResponse = z.infer<typeof CatchUpResponseSchema>;

// ---------- realtime node: browser-facing ----------

export const ConnectQuerySchema = z.object({
  topics: z
    .string()
    .optional()
    .transform((raw) => (raw ? raw.split(',').filter((t) => t.length > 0) : []))
    .pipe(z.array(TopicSchema).max(MAX_TOPICS_PER_CONNECTION, `at most ${MAX_TOPICS_PER_CONNECTION} topics`)),
  /** One id, or one per topic separated by commas (a client that tracks each topic's last id). */
  lastEventId: z.string().max(4096).optional(),
  /** `1`: receive the topics' events without being counted as a viewer (the broadcaster's studio). */
  observer: z.enum(['0', '1']).optional(),
});
export type TConnectQuery = z.infer<typeof ConnectQuerySchema>;

export const SubscribeRequestSchema = z.object({
  connectionId: z.string().min(1).max(64),
  topics: z.array(TopicSchema).min(1).max(MAX_TOPICS_PER_CONNECTION),
});
export type TSubscribeRequest = z.infer<typeof SubscribeRequestSchema>;

export const SubscribeResponseSchema = z.object({ topics: z.array(TopicSchema) });
export type TSubscribeResponse = z.infer<typeof SubscribeResponseSchema>;

/** POST /latency: a browser's receive latencies (publish → receipt, ms) for one of its topics. */
export const LatencyReportSchema = z.object({
  connectionId: z.string().min(1).max(64),
  topic: TopicSchema,
  samples: z.array(z.number().min(0).max(MAX_LATENCY_SAMPLE_MS)).min(1).max(100),
});
export type TLatencyReport = z.infer<typeof LatencyReportSchema>;

export const LatencySummarySchema = z.object({
  topic: TopicSchema,
  windowSeconds: z.number().int().positive(),
  count: z.number().int().nonnegative(),
  p50: z.number().nullable(),
  p90: z.number().nullable(),
  p99: z.number().nullable(),
});
export type TLatencySummary = z.infer<typeof LatencySummarySchema>;

// ---------- SSE payloads a viewer receives ----------

export const ConnectedPayloadSchema = z.object({
  connectionId: z.string(),
  nodeId: z.string(),
  region: z.string(),
});
export type TConnectedPayload = z.infer<typeof ConnectedPayloadSchema>;

export const ReconnectPayloadSchema = z.object({ afterMs: z.number().int().nonnegative() });
export type TReconnectPayload = z.infer<typeof ReconnectPayloadSchema>;

export const HeartbeatPayloadSchema = z.object({ ts: z.number() });
export type THeartbeatPayload = z.infer<typeof HeartbeatPayloadSchema>;

/** The `data:` line of a published event: the publisher's `data` untouched, wrapped with routing facts. */
export const EventEnvelopeSchema = z.object({
  id: z.string(),
  topic: TopicSchema,
  type: EventTypeSchema,
  data: z.record(z.string(), z.unknown()),
  ts: z.number(),
  /** Set on events a resuming connection receives again from history (sent late on purpose). */
  replayed: z.boolean().optional(),
  /** For an event published in another region: its id there (the same in every region). */
  originId: z.string().optional(),
});
export type TEventEnvelope = z.infer<typeof EventEnvelopeSchema>;

/**
 * `snapshot`: a topic's state when a connection subscribes (or resumes): viewers, like total and,
 * once a `status` event was published, the last status. Its id is a resume point like any event's.
 */
export const SnapshotPayloadSchema = z.object({
  viewers: z.number().int().nonnegative(),
  likes: z.number().int().nonnegative(),
  /** `likes` per reaction, summing to it (absent: all `like`). */
  reactions: WireReactionCountsSchema.optional(),
  status: z.string().optional(),
});
export type TSnapshotPayload = z.infer<typeof SnapshotPayloadSchema>;

/**
 * `resync`: the node cannot replay what this connection missed on `topic`; reload its state.
 * On joining: the resume id is unknown (another epoch: the log was lost), too old, or the tier
 * could not be read. Mid-stream (`gap`): events of the topic could not be delivered and cannot be
 * repaired from history (a lost log, history trimmed past them); a snapshot follows when it can.
 */
export const ResyncPayloadSchema = z.object({
  topic: TopicSchema,
  reason: z.enum(['unknown_id', 'too_old', 'unavailable', 'gap']),
});
export type TResyncPayload = z.infer<typeof ResyncPayloadSchema>;

export const ViewersPayloadSchema = z.object({ count: z.number().int().nonnegative() });
export type TViewersPayload = z.infer<typeof ViewersPayloadSchema>;

// ---------- health ----------

export const HealthSchema = z.object({
  status: z.enum(['ok', 'draining', 'degraded']),
  checks: z.record(z.string(), z.object({ ok: z.boolean(), detail: z.string().optional() })),
});
export type THealth = z.infer<typeof HealthSchema>;

// ---------- web product API (apps/web route handlers) ----------

// Names, titles and comments people type: one line of visible NFC text (text.ts says the rules).
export const CreateSessionSchema = z.object({ name: userTextSchema('name', 40) });
export type TCreateSession = z.infer<typeof CreateSessionSchema>;

export const UserSchema = z.object({ id: z.string(), name: z.string() });
export type TUser = z.infer<typeof UserSchema>;

export const VideoStatusSchema = z.enum(['upcoming', 'live', 'ended']);
export type TVideoStatus = z.infer<typeof VideoStatusSchema>;

/**
 * `hlsUrl`: a public http(s) stream or the demo's `/demo/<name>.m3u8` (hls-url.ts); production
 * also requires https, which the web tier checks with `checkHlsUrl(url, { production: true })`.
 */
export const CreateVideoSchema = z.object({
  title: userTextSchema('title', 120),
  hlsUrl: z
    .string()
    .max(MAX_HLS_URL_LENGTH, `hlsUrl must be at most ${MAX_HLS_URL_LENGTH} characters`)
    .transform((raw, ctx) => {
      const checked = checkHlsUrl(raw, { production: false });
      if (checked.ok) return checked.url;
      ctx.addIssue({ code: 'custom', message: `hlsUrl ${checked.reason}` });
      return z.NEVER;
    })
    .optional(),
});
export type TCreateVideo = z.infer<typeof CreateVideoSchema>;

export const VideoSchema = z.object({
  id: z.string(),
  title: z.string(),
  status: VideoStatusSchema,
  hlsUrl: z.string(),
  ownerId: z.string(),
  createdAt: z.string(),
  likes: z.number().int().nonnegative(),
  /** `likes` per reaction (summing to it). */
  reactions: ReactionCountsSchema,
  viewers: z.number().int().nonnegative(),
  /** Set (true) when only accounts may comment (the broadcaster's choice). */
  membersOnlyComments: z.literal(true).optional(),
  /** The broadcaster's encoder (ingest): sending, or dropped (the viewer shows "Stream interrupted"). */
  stream: z.enum(['live', 'interrupted']).optional(),
  /** A recent frame (JPEG) of a stream from the ingest, refreshed every few seconds (lists only). */
  posterUrl: z.string().optional(),
  /** The broadcaster's display name (lists only). */
  ownerName: z.string().optional(),
});
export type TVideo = z.infer<typeof VideoSchema>;

/** PATCH /api/videos/:id (owner only): the video's settings. */
export const UpdateVideoSchema = z.object({ membersOnlyComments: z.boolean() });
export type TUpdateVideo = z.infer<typeof UpdateVideoSchema>;

export const LikeRequestSchema = z.object({
  count: z.number().int().min(1).max(MAX_LIKE_BATCH).default(1),
  reaction: ReactionSchema.default('like'),
});
export type TLikeRequest = z.infer<typeof LikeRequestSchema>;

export const CommentRequestSchema = z.object({ text: userTextSchema('text', 500) });
export type TCommentRequest = z.infer<typeof CommentRequestSchema>;

export const CommentSchema = z.object({
  id: z.string(),
  videoId: z.string(),
  author: UserSchema,
  text: z.string(),
  at: z.string(),
  /** Set (true) on comments by the video's owner: the feed shows a badge. */
  owner: z.literal(true).optional(),
});
export type TComment = z.infer<typeof CommentSchema>;

/** POST /api/videos/:id/bans: the user to bar from commenting (name as shown in their comments). */
export const BanRequestSchema = z.object({
  userId: z.string().min(1).max(64),
  name: userTextSchema('name', 40),
});
export type TBanRequest = z.infer<typeof BanRequestSchema>;

export const ActivityMinuteSchema = z.object({
  minute: z.number().int(),
  likes: z.number().int().nonnegative(),
  comments: z.number().int().nonnegative(),
});
export type TActivityMinute = z.infer<typeof ActivityMinuteSchema>;

/** GET /api/videos/:id/stats (owner only): the studio dashboard's figures. */
export const VideoStatsSchema = z.object({
  viewers: ViewersResponseSchema,
  likes: z.number().int().nonnegative(),
  /** Likes and comments per minute, oldest first, the last 10 minutes. */
  activity: z.array(ActivityMinuteSchema),
  /** Delivery latency as viewers measured it over the last minute (null: no samples / unknown). */
  latency: LatencySummarySchema.nullable(),
});
export type TVideoStats = z.infer<typeof VideoStatsSchema>;

// ---------- viewer counts of many topics (web → dispatcher) ----------

/** Topics one `POST /topics/viewers` may ask about (a page of the web's video list). */
export const MAX_VIEWER_TOPICS = 200;

/** POST /topics/viewers (internal token): several topics' viewers in one call. */
export const ViewersBatchRequestSchema = z.object({
  topics: z.array(TopicSchema).min(1).max(MAX_VIEWER_TOPICS),
});
export type TViewersBatchRequest = z.infer<typeof ViewersBatchRequestSchema>;

/** Each asked topic's viewers in every region (the sum `GET /topics/:topic/viewers` gives as `count`). */
export const ViewersBatchResponseSchema = z.object({
  counts: z.record(TopicSchema, z.number().int().nonnegative()),
});
export type TViewersBatchResponse = z.infer<typeof ViewersBatchResponseSchema>;

// ---------- connection tokens (web → browser → realtime) ----------

/** GET /api/realtime-token: a token for GET /connect (`token=`), when it expires, the nodes. */
export const RealtimeTokenResponseSchema = z.object({
  token: z.string().min(1).max(4096),
  expiresAt: z.number().int().positive(),
  realtimeUrls: z.array(z.string()),
  /** The topics the token grants (a connection shared by tabs opens with those it asked for and got). */
  topics: z.array(z.string()).optional(),
});
export type TRealtimeTokenResponse = z.infer<typeof RealtimeTokenResponseSchema>;
/** A connection token and its expiry, as the page hands it to the browser client (@ovation/client). */
export type ConnectTokenValue = Pick<TRealtimeTokenResponse, 'token' | 'expiresAt'>;
