import {
  CatchUpRequestSchema,
  CatchUpResponseSchema,
  type ErrorCode,
  HealthSchema,
  IdempotencyKeySchema,
  LatencySummarySchema,
  NodeAckSchema,
  NodeHeartbeatSchema,
  NodePresenceSchema,
  NodeSyncSchema,
  NodeTopicsSchema,
  PresenceAckSchema,
  PresenceListQuerySchema,
  PresenceListSchema,
  PresenceOnlineSchema,
  PublishBatchSchema,
  PublishEventSchema,
  PublishResponseSchema,
  RegionCountsSchema,
  RegionPresenceSchema,
  RelayBatchSchema,
  ViewersBatchRequestSchema,
  ViewersBatchResponseSchema,
  ViewersResponseSchema,
} from '@ovation/shared';
import { buildOpenApi, type JsonSchema, type RouteDoc } from '@ovation/shared/api-docs';
import { z } from 'zod';
import { TopicParamsSchema } from './routes/topics.js';

/*
 * The dispatcher's OpenAPI 3.1 document (GET /openapi.json): every route app.ts registers, with the
 * schemas its handler parses with. test/openapi.test.ts fails when a route is added or removed
 * without its entry here.
 */

// Answers whose handlers build them inline (no schema parses them anywhere else).
const AliveSchema = z.object({ status: z.literal('alive') });
const RelayAcceptedSchema = z.object({
  accepted: z.number().int().nonnegative(),
  duplicates: z.number().int().nonnegative(),
});
const OkSchema = z.object({ ok: z.literal(true) });
/** `?users=a,b` as the query string carries it (PresenceUsersQuerySchema splits and checks each id). */
const UsersQueryDoc = z.object({
  users: z.string().describe('account ids, comma-separated (1–100)'),
  topic: z.string().optional().describe('present on this topic (not yet left); absent: on any'),
});

/** What Fastify and the error handler may answer to any JSON body (shared/server/http-errors.ts). */
const BODY_ERRORS: ErrorCode[] = ['INVALID_JSON', 'VALIDATION_FAILED', 'PAYLOAD_TOO_LARGE', 'UNSUPPORTED_MEDIA_TYPE'];
/** An internal route: the token first (before the body is read), then the body, then the store. */
const INTERNAL_ERRORS: ErrorCode[] = ['UNAUTHORIZED', ...BODY_ERRORS, 'UNAVAILABLE'];
const INTERNAL = 'internalToken';

const ack = { 200: { description: 'taken; `resync: true` asks for a full sync', schema: NodeAckSchema } };

export const DISPATCHER_ROUTES: readonly RouteDoc[] = [
  {
    method: 'post',
    path: '/publish',
    tags: ['publish'],
    summary: 'Publish one event or a batch',
    description:
      'One event `{ topic, type, data }` or `{ events: [...] }` (1–1000). `202` once every event is in its ' +
      "topic's history and queued for every node with viewers and every peer region. `data` is a JSON object " +
      'of at most 8 KiB; a reserved type (connected, heartbeat, reconnect, resync, snapshot, error, message, ' +
      'open, presence) is refused naming `type`; a `like` must carry `{ count ≥ 1, total?, sample? }`; two events of a ' +
      'batch may not share a `key`. `503` (nothing accepted): the store is unreachable, a node is backed up, ' +
      'or the store lost its data and nodes are syncing again.',
    security: INTERNAL,
    headers: [
      {
        name: 'Idempotency-Key',
        description: '1–128 printable ASCII; a repeat within 10 minutes answers the first `202` and accepts nothing',
        schema: IdempotencyKeySchema,
      },
    ],
    body: z.union([PublishEventSchema, PublishBatchSchema]),
    responses: { 202: { description: 'accepted; one id per event, in order', schema: PublishResponseSchema } },
    errors: INTERNAL_ERRORS,
  },
  {
    method: 'get',
    path: '/topics/{topic}/viewers',
    tags: ['topics'],
    summary: "A topic's viewers in every region",
    params: TopicParamsSchema,
    responses: { 200: { description: '`count` sums `byRegion`', schema: ViewersResponseSchema } },
    errors: ['VALIDATION_FAILED', 'UNAVAILABLE'],
  },
  {
    method: 'get',
    path: '/topics/{topic}/presence',
    tags: ['topics'],
    summary: 'Who is watching: one page of the accounts present (id order), the accounts and guests counted',
    description:
      "`cursor`: the previous page's `next` (the last id it listed); `limit` 1–1000 (default 100). A viewer " +
      'whose connection dropped stays listed through the grace (`PRESENCE_GRACE_MS`).',
    params: TopicParamsSchema,
    query: PresenceListQuerySchema,
    responses: { 200: { description: 'one page; `next` null on the last', schema: PresenceListSchema } },
    errors: ['VALIDATION_FAILED', 'UNAVAILABLE'],
  },
  {
    method: 'get',
    path: '/presence/online',
    tags: ['topics'],
    summary: 'Whether each account is present now: on `topic`, or on any topic (within the grace)',
    security: INTERNAL,
    query: UsersQueryDoc,
    responses: { 200: { description: 'true or false per id asked', schema: PresenceOnlineSchema } },
    errors: ['UNAUTHORIZED', 'VALIDATION_FAILED', 'UNAVAILABLE'],
  },
  {
    method: 'get',
    path: '/topics/{topic}/latency',
    tags: ['topics'],
    summary: 'Delivery latency as viewers measured it over the last minute (ms; null without samples)',
    params: TopicParamsSchema,
    responses: { 200: { description: 'percentiles', schema: LatencySummarySchema } },
    errors: ['VALIDATION_FAILED', 'UNAVAILABLE'],
  },
  {
    method: 'post',
    path: '/topics/viewers',
    tags: ['topics'],
    summary: 'Several topics’ viewers in one call (1–200 topics)',
    security: INTERNAL,
    body: ViewersBatchRequestSchema,
    responses: { 200: { description: "each topic's count, summed over regions", schema: ViewersBatchResponseSchema } },
    errors: INTERNAL_ERRORS,
  },
  {
    method: 'post',
    path: '/internal/nodes/heartbeat',
    tags: ['internal'],
    summary: 'Node liveness and the viewer counts that changed',
    security: INTERNAL,
    body: NodeHeartbeatSchema,
    responses: ack,
    errors: INTERNAL_ERRORS,
  },
  {
    method: 'post',
    path: '/internal/nodes/sync',
    tags: ['internal'],
    summary: "One part of a node's full state; the `last` part removes topics no part named",
    security: INTERNAL,
    body: NodeSyncSchema,
    responses: ack,
    errors: INTERNAL_ERRORS,
  },
  {
    method: 'post',
    path: '/internal/nodes/presence',
    tags: ['internal'],
    summary: "A node's presence heartbeats (`present`) and departures (`gone`) per topic",
    description: 'At most 5000 members in all. The ack says how often to send every member again (`refreshMs`).',
    security: INTERNAL,
    body: NodePresenceSchema,
    responses: { 200: { description: 'taken', schema: PresenceAckSchema } },
    errors: INTERNAL_ERRORS,
  },
  {
    method: 'post',
    path: '/internal/nodes/topics',
    tags: ['internal'],
    summary: "A node's first viewer of a topic arrived (`add`) or its last one left (`remove`)",
    security: INTERNAL,
    body: NodeTopicsSchema,
    responses: ack,
    errors: INTERNAL_ERRORS,
  },
  {
    method: 'post',
    path: '/internal/catch-up',
    tags: ['internal'],
    summary: "Per topic, the log's state and its history after `from` (bodies up to 4 MiB)",
    security: INTERNAL,
    body: CatchUpRequestSchema,
    responses: { 200: { description: 'one entry per asked topic, in order', schema: CatchUpResponseSchema } },
    errors: INTERNAL_ERRORS,
  },
  {
    method: 'post',
    path: '/internal/relay',
    tags: ['internal'],
    summary: 'Events another region accepted: each accepted here once (bodies up to 16 MiB)',
    description:
      'Each event is then held to what this region accepts from a publisher (publishable type, data ≤ 8 KiB).',
    security: INTERNAL,
    body: RelayBatchSchema,
    responses: { 200: { description: 'how many were new and how many seen before', schema: RelayAcceptedSchema } },
    errors: INTERNAL_ERRORS,
  },
  {
    method: 'post',
    path: '/internal/region-counts',
    tags: ['internal'],
    summary: "Another region's viewers per topic, valid for `ttlMs`",
    security: INTERNAL,
    body: RegionCountsSchema,
    responses: { 200: { description: 'taken', schema: OkSchema } },
    errors: INTERNAL_ERRORS,
  },
  {
    method: 'post',
    path: '/internal/region-presence',
    tags: ['internal'],
    summary: "The node presence reports another region's dispatchers took, in order: taken here too",
    description: 'At most 20,000 members in all; presence is global because every region holds every region.',
    security: INTERNAL,
    body: RegionPresenceSchema,
    responses: { 200: { description: 'taken', schema: OkSchema } },
    errors: INTERNAL_ERRORS,
  },
  {
    method: 'get',
    path: '/livez',
    tags: ['operations'],
    summary: 'Liveness: 200 whenever the process answers',
    responses: { 200: { description: 'alive', schema: AliveSchema } },
    errors: [],
  },
  {
    method: 'get',
    path: '/healthz',
    tags: ['operations'],
    summary: 'Readiness: 503 while the registry store is down',
    responses: {
      200: { description: 'ready', schema: HealthSchema },
      503: { description: '`degraded`: the store cannot be reached', schema: HealthSchema },
    },
    errors: [],
  },
  {
    method: 'get',
    path: '/metrics',
    tags: ['operations'],
    summary: 'Prometheus metrics',
    security: INTERNAL,
    responses: { 200: { description: 'Prometheus text format', contentType: 'text/plain' } },
    errors: ['UNAUTHORIZED'],
  },
  {
    method: 'get',
    path: '/openapi.json',
    tags: ['operations'],
    summary: 'This document',
    responses: { 200: { description: 'OpenAPI 3.1', jsonSchema: { type: 'object' } } },
    errors: [],
  },
];

export function dispatcherOpenApi(): JsonSchema {
  return buildOpenApi(
    {
      info: {
        title: 'Ovation dispatcher',
        version: '0.1.0',
        description:
          'Backends publish here; realtime nodes and peer regions keep the registry and history here. ' +
          'Errors are `{ "error": { "code", "message" } }`. docs/interface.md has the details.',
      },
      tags: [
        { name: 'publish', description: 'for backends' },
        { name: 'topics', description: 'viewer counts and latency' },
        { name: 'internal', description: 'realtime nodes and peer dispatchers' },
        { name: 'operations', description: 'probes, metrics, this document' },
      ],
      securitySchemes: {
        [INTERNAL]: {
          type: 'http',
          scheme: 'bearer',
          description: 'the INTERNAL_TOKEN every service shares; checked before the body is read',
        },
      },
    },
    DISPATCHER_ROUTES,
  );
}
