import type { IncomingMessage, ServerResponse } from 'node:http';
import { AppError, ConnectQuerySchema, encodeFrame, parseWith, type TConnectedPayload } from '@ovation/shared';
import { toAppError } from '@ovation/shared/server';
import type { ConnectionHub } from '../connections/hub.js';
import { StreamHeads } from '../connections/stream-head.js';

export interface ConnectDeps {
  hub: ConnectionHub;
  nodeId: string;
  region: string;
  maxConnections: number;
  isDraining: () => boolean;
  corsHeaders: (origin: string | undefined) => Record<string, string>;
}

/*
 * GET /connect?topics=a,b — the delivery pipe.
 *
 *   browser ──GET /connect──▶ node: subscribe locally, register first-viewer topics upstream,
 *           ◀── 200 text/event-stream, `connected`, then events and heartbeats until closed
 *
 * Headers and the `connected` frame go out only after the topics are registered with the
 * dispatcher tier, so an event published after `connected` arrived reaches this viewer. Then, per
 * topic, the catch-up (a snapshot; for a resuming client — `lastEventId` query or `Last-Event-ID`
 * header — first the events it missed, or `resync`), then the live stream (connections/hub.ts).
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
  return async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const cors = deps.corsHeaders(req.headers.origin);
    let query: ReturnType<typeof ConnectQuerySchema.parse>;
    try {
      if (deps.isDraining()) throw new AppError('DRAINING', 'node is shutting down; connect to another node');
      if (deps.hub.size >= deps.maxConnections) {
        throw new AppError('TOO_MANY_CONNECTIONS', 'node is full; connect to another node');
      }
      const params = new URL(req.url ?? '/', 'http://node').searchParams;
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
      const appError = toAppError(error);
      res.writeHead(appError.status, {
        'content-type': 'application/json',
        ...(appError.retryAfterSeconds === undefined ? {} : { 'retry-after': String(appError.retryAfterSeconds) }),
        ...cors,
      });
      res.end(JSON.stringify(appError.toBody()));
      return;
    }

    const connection = deps.hub.open(res, query.observer === '1');
    res.on('close', () => deps.hub.close(connection));
    const header = req.headers['last-event-id'];
    await deps.hub.join(
      connection,
      query.topics,
      query.lastEventId ?? (typeof header === 'string' ? header : undefined),
    );
    if (!connection.isOpen) return;

    const connected: TConnectedPayload = { connectionId: connection.id, nodeId: deps.nodeId, region: deps.region };
    connection.begin(heads.for(req.headers.origin), encodeFrame('connected', JSON.stringify(connected)));
  };
}
