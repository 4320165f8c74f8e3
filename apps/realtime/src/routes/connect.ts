import type { IncomingMessage, ServerResponse } from 'node:http';
import { ConnectQuerySchema, encodeFrame, parseWith, type TConnectedPayload } from '@ovation/shared';
import { toAppError } from '@ovation/shared/server';
import type { Access } from '../access/access.js';
import type { Admission } from '../access/admission.js';
import type { ConnectAuth } from '../access/connect-auth.js';
import type { ConnectionHub } from '../connections/hub.js';
import { StreamHeads } from '../connections/stream-head.js';

export interface ConnectDeps {
  hub: ConnectionHub;
  nodeId: string;
  region: string;
  maxConnections: number;
  /** Token and topic checks (401/403). */
  auth: ConnectAuth;
  /** Per-viewer and per-address connection bounds (429). */
  admission: Admission;
  /** The client's address (the socket's, or what a trusted proxy says). */
  addressOf: (req: IncomingMessage) => string;
  isDraining: () => boolean;
  corsHeaders: (origin: string | undefined) => Record<string, string>;
  /** A client was sent elsewhere (the node drains or is full, or `unavailable`: the tier failed it). */
  onSentAway: (reason: 'draining' | 'full' | 'unavailable', error?: unknown) => void;
  random?: () => number;
}

/**
 * The reconnection delay a stream asks standard EventSource clients for (`retry:`), drawn per
 * connection from this range so that the clients of a node that goes away come back spread out.
 */
export const RETRY_MIN_MS = 1000;
export const RETRY_SPREAD_MS = 2000;

/*
 * GET /connect?topics=a,b — the delivery pipe.
 *
 *   browser ──GET /connect──▶ node: subscribe locally, register first-viewer topics upstream,
 *           ◀── 200 text/event-stream, `retry:`, `connected`, then events and heartbeats until closed
 *
 * Headers and the `connected` frame go out only after the topics are registered with the
 * dispatcher tier, so an event published after `connected` arrived reaches this viewer. Then, per
 * topic, the catch-up (a snapshot; for a resuming client — `lastEventId` query or `Last-Event-ID`
 * header — first the events it missed, or `resync`), then the live stream (connections/hub.ts).
 *
 * A request this node will not serve — it is draining or full, or its topics cannot be registered
 * or caught up — gets a 200 stream holding only `retry:` and `reconnect`, then the end: a standard
 * EventSource treats any error status as the end for good, but reconnects after a stream ends
 * (with its Last-Event-ID, so nothing is lost). Only a request that will not succeed however often
 * it is repeated ends a client for good: bad input (400), no or a bad or expired connection token
 * (401: the project's client fetches a new one), a topic the token does not grant (403), or more
 * connections than this viewer or address may hold (429; access/).
 *
 * This route is served straight from Node's HTTP server, ahead of Fastify (see app.ts): a Fastify
 * request and reply stay referenced by the response's listeners for as long as the stream is
 * open, which costs every idle connection memory, and a reconnect storm Fastify's per-request work.
 */
export function isConnectRequest(req: IncomingMessage): boolean {
  return req.method === 'GET' && (req.url === '/connect' || req.url?.startsWith('/connect?') === true);
}

export function createConnectHandler(deps: ConnectDeps) {
  const heads = new StreamHeads(deps.corsHeaders);
  const random = deps.random ?? Math.random;
  const retryFrame = () => `retry: ${RETRY_MIN_MS + Math.floor(random() * RETRY_SPREAD_MS)}\n\n`;
  /** A stream that only sends the client elsewhere (see above). */
  const goAway = () => `${retryFrame()}${encodeFrame('reconnect', JSON.stringify({ afterMs: 0 }))}`;

  /** An error answer (bad input 400, no or bad token 401, topic not granted 403, over a bound 429). */
  const refuse = (req: IncomingMessage, res: ServerResponse, error: unknown) => {
    const appError = toAppError(error);
    res.writeHead(appError.status, {
      'content-type': 'application/json',
      ...(appError.retryAfterSeconds === undefined ? {} : { 'retry-after': String(appError.retryAfterSeconds) }),
      ...deps.corsHeaders(req.headers.origin),
    });
    res.end(JSON.stringify(appError.toBody()));
  };

  return async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    let query: ReturnType<typeof ConnectQuerySchema.parse>;
    let params: URLSearchParams;
    try {
      params = new URL(req.url ?? '/', 'http://node').searchParams;
      query = parseWith(
        ConnectQuerySchema,
        {
          topics: params.get('topics') ?? undefined,
          lastEventId: params.get('lastEventId') ?? undefined,
          observer: params.get('observer') ?? undefined,
        },
        'query',
      );
    } catch (error) {
      refuse(req, res, error);
      return;
    }
    // A request pipelined behind another on its socket has no socket of its own: behind a stream
    // it would never get one, yet it would subscribe and count as a viewer. No client does this.
    if (!res.socket) {
      req.socket.destroy();
      return;
    }
    const head = heads.for(req.headers.origin);
    const draining = deps.isDraining();
    if (draining || deps.hub.size >= deps.maxConnections) {
      deps.onSentAway(draining ? 'draining' : 'full');
      const socket = res.socket;
      if (socket && !socket.destroyed) {
        socket.write(head);
        socket.end(goAway());
      }
      return;
    }

    const observer = query.observer === '1';
    const address = deps.addressOf(req);
    let access: Access;
    try {
      deps.admission.screen(address);
      try {
        access = deps.auth.authorize(req, params, query.topics, observer);
      } catch (error) {
        deps.admission.refused(address);
        throw error;
      }
      deps.admission.admit(access.viewerId, address);
    } catch (error) {
      refuse(req, res, error);
      return;
    }
    const connection = deps.hub.open(res, observer, access);
    res.on('close', () => {
      deps.hub.close(connection);
      deps.admission.release(access.viewerId, address);
    });
    const header = req.headers['last-event-id'];
    try {
      await deps.hub.join(
        connection,
        query.topics,
        query.lastEventId ?? (typeof header === 'string' ? header : undefined),
      );
    } catch (error) {
      deps.onSentAway('unavailable', error);
      connection.refuse(head, goAway());
      return;
    }
    if (!connection.isOpen) return;

    const connected: TConnectedPayload = { connectionId: connection.id, nodeId: deps.nodeId, region: deps.region };
    connection.begin(head, `${retryFrame()}${encodeFrame('connected', JSON.stringify(connected))}`);
  };
}
