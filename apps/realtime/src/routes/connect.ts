import { AppError, ConnectQuerySchema, encodeFrame, parseWith, type TConnectedPayload } from '@ovation/shared';
import type { FastifyInstance } from 'fastify';
import type { ConnectionHub } from '../connections/hub.js';

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
 * dispatcher tier, so an event published after `connected` arrived reaches this viewer.
 */
export function connectRoutes(app: FastifyInstance, deps: ConnectDeps) {
  app.get('/connect', async (request, reply) => {
    if (deps.isDraining()) throw new AppError('DRAINING', 'node is shutting down; connect to another node');
    if (deps.hub.size >= deps.maxConnections)
      throw new AppError('TOO_MANY_CONNECTIONS', 'node is full; connect to another node');
    const query = parseWith(ConnectQuerySchema, request.query, 'query');

    reply.hijack();
    const res = reply.raw;
    const connection = deps.hub.open(res);
    res.on('close', () => deps.hub.close(connection));
    await deps.hub.subscribe(connection, query.topics);
    if (!connection.isOpen) return;

    const connected: TConnectedPayload = { connectionId: connection.id, nodeId: deps.nodeId, region: deps.region };
    connection.begin(
      {
        'content-type': 'text/event-stream',
        'cache-control': 'no-cache',
        connection: 'keep-alive',
        'x-accel-buffering': 'no',
        ...deps.corsHeaders(request.headers.origin),
      },
      encodeFrame('connected', JSON.stringify(connected)),
    );
  });
}
