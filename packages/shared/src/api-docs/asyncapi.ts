import { z } from 'zod';
import {
  CommentSchema,
  ConnectedPayloadSchema,
  ConnectQuerySchema,
  EventEnvelopeSchema,
  HeartbeatPayloadSchema,
  LikePayloadSchema,
  ReconnectPayloadSchema,
  ResyncPayloadSchema,
  SnapshotPayloadSchema,
  VideoStatusSchema,
  ViewersPayloadSchema,
} from '../schemas.js';
import { type JsonSchema, jsonSchemaOf } from './openapi.js';

/*
 * The AsyncAPI 3 document of what a realtime node streams on `GET /connect`: one channel, one
 * receive operation, a message per SSE `event:` name, each payload generated from the schema in
 * schemas.ts that the services and the browser client parse that frame with.
 */

/** `comment_deleted` and `status` data as the web tier publishes them (apps/web/lib/server). */
export const CommentDeletedPayloadSchema = z.object({ id: z.string(), videoId: z.string() });
export const StatusPayloadSchema = z.object({ videoId: z.string(), status: VideoStatusSchema });

/** The `data:` line of a published event: the envelope around one type's data. */
const envelopeOf = (type: string, data: z.ZodType) => EventEnvelopeSchema.extend({ type: z.literal(type), data });

/** The SSE `id:` field, on published events and snapshots: a resume point (`Last-Event-ID`). */
const EventIdHeaders = z.object({ id: z.string().meta({ description: 'the SSE `id:` field, a resume point' }) });

interface MessageDoc {
  summary: string;
  payload: z.ZodType;
  /** Published events and snapshots carry an SSE `id:`; server frames do not. */
  hasId: boolean;
}

/** Keyed by the SSE `event:` name. */
const MESSAGES: Record<string, MessageDoc> = {
  connected: {
    summary: 'The first frame of every stream: which connection, node and region this is.',
    payload: ConnectedPayloadSchema,
    hasId: false,
  },
  heartbeat: {
    summary: 'At least every HEARTBEAT_MS, so proxies keep the stream open.',
    payload: HeartbeatPayloadSchema,
    hasId: false,
  },
  reconnect: {
    summary: 'The node is draining or cannot serve the stream: reconnect (elsewhere) after `afterMs`; the stream ends.',
    payload: ReconnectPayloadSchema,
    hasId: false,
  },
  resync: {
    summary: 'What this connection missed on `topic` cannot be replayed: reload the topic state; a snapshot follows.',
    payload: ResyncPayloadSchema,
    hasId: false,
  },
  snapshot: {
    summary: "A topic's state when the connection joins it (or resumes, or after a repaired gap).",
    payload: envelopeOf('snapshot', SnapshotPayloadSchema),
    hasId: true,
  },
  like: {
    summary: 'Likes since the previous `like` frame on this connection (`count` ≥ 1; their sum is exact).',
    payload: envelopeOf('like', LikePayloadSchema),
    hasId: true,
  },
  comment: { summary: 'A new comment on the video.', payload: envelopeOf('comment', CommentSchema), hasId: true },
  comment_deleted: {
    summary: 'The video owner deleted a comment.',
    payload: envelopeOf('comment_deleted', CommentDeletedPayloadSchema),
    hasId: true,
  },
  viewers: {
    summary: "The topic's viewers in every node and region (at most every VIEWER_COUNT_INTERVAL_MS, on change).",
    payload: envelopeOf('viewers', ViewersPayloadSchema),
    hasId: true,
  },
  status: {
    summary: 'The video went live or ended (also on the topic `videos`).',
    payload: envelopeOf('status', StatusPayloadSchema),
    hasId: true,
  },
  event: {
    summary:
      'Any other type a publisher used (`^[a-z_]{1,32}$`, not a reserved name): `event:` is that type, `data` what the publisher sent, untouched.',
    payload: EventEnvelopeSchema,
    hasId: true,
  },
};

/** The SSE event names the document describes (every name above but the catch-all `event`). */
export const DOCUMENTED_SSE_EVENTS = Object.keys(MESSAGES).filter((name) => name !== 'event');

const QUERY_DESCRIPTIONS: Record<string, string> = {
  topics: 'comma list of topics (`^[A-Za-z0-9:_-]{1,128}$`, at most 64); may be empty',
  lastEventId: 'resume after this id (or one id per topic, comma separated) — as the `Last-Event-ID` header',
  observer: '`1`: receive without being counted as a viewer (the token must let it observe the topics)',
  token: 'a connection token from the web tier (`GET /api/realtime-token`); or `Authorization: Bearer`',
};

/** The query `GET /connect` takes: ConnectQuerySchema, and the token the access check reads. */
const ConnectRequestQuerySchema = ConnectQuerySchema.extend({ token: z.string().optional() });

function connectQuery(): JsonSchema {
  const query = jsonSchemaOf(ConnectRequestQuerySchema, 'draft-7') as { properties: Record<string, JsonSchema> };
  for (const [name, description] of Object.entries(QUERY_DESCRIPTIONS)) {
    const property = query.properties[name];
    if (!property) throw new Error(`GET /connect has no query parameter ${name}`);
    property.description = description;
  }
  return query;
}

export function realtimeAsyncApi(version: string): JsonSchema {
  const messages: Record<string, JsonSchema> = {};
  for (const [name, message] of Object.entries(MESSAGES)) {
    messages[name] = {
      name,
      title: name === 'event' ? 'any other published type' : `event: ${name}`,
      summary: message.summary,
      contentType: 'application/json',
      payload: jsonSchemaOf(message.payload, 'draft-7'),
      ...(message.hasId ? { headers: jsonSchemaOf(EventIdHeaders, 'draft-7') } : {}),
    };
  }
  const channelMessages = Object.fromEntries(
    Object.keys(MESSAGES).map((name) => [name, { $ref: `#/components/messages/${name}` }]),
  );
  return {
    asyncapi: '3.0.0',
    info: {
      title: 'Ovation realtime node',
      version,
      description:
        'Server-sent events a realtime node streams to viewers on `GET /connect` (Accept: text/event-stream). ' +
        'Each message is one SSE frame: `event:` is the message name, `data:` one line of JSON (the payload), ' +
        '`id:` where the message has an id header. Streams also carry a standard `retry:` field. ' +
        'Refusals (400 bad input, 401 no or bad token, 403 topic not granted, 429 too many connections) are ' +
        '`{ "error": { "code", "message" } }` JSON answers instead of a stream. docs/interface.md has the details.',
    },
    servers: {
      local: {
        host: '127.0.0.1:4100',
        protocol: 'http',
        description: 'A realtime node as `npm start` runs it; any node of the tier serves the same channel.',
      },
    },
    defaultContentType: 'application/json',
    channels: {
      connect: {
        address: '/connect',
        title: 'GET /connect',
        description:
          'One stream per viewer. Headers: `Accept: text/event-stream`; `Last-Event-ID` to resume; ' +
          '`Authorization: Bearer <token>` instead of `token=`.',
        servers: [{ $ref: '#/servers/local' }],
        messages: channelMessages,
      },
    },
    operations: {
      receiveEvents: {
        action: 'receive',
        title: 'Watch topics',
        summary: 'Open a stream on the given topics and receive their events, in each topic’s log order.',
        channel: { $ref: '#/channels/connect' },
        messages: Object.keys(MESSAGES).map((name) => ({ $ref: `#/channels/connect/messages/${name}` })),
        bindings: { http: { method: 'GET', query: connectQuery(), bindingVersion: '0.3.0' } },
      },
    },
    components: { messages },
  };
}
