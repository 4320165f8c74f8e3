import { DeliverBatchSchema, parseWith } from '@ovation/shared';
import type { InternalAuth } from '@ovation/shared/server';
import type { FastifyInstance } from 'fastify';
import type { ConnectionHub } from '../connections/hub.js';
import { deliverBatch } from '../fanout.js';
import type { RealtimeMetrics } from '../metrics.js';

/** Internal: POST /internal/deliver — a batch of events from a dispatcher, written to local viewers. */
export function internalRoutes(
  app: FastifyInstance,
  deps: { hub: ConnectionHub; metrics: RealtimeMetrics; auth: InternalAuth },
) {
  app.post('/internal/deliver', { preHandler: deps.auth, bodyLimit: 16 * 1024 * 1024 }, async (request, reply) => {
    const batch = parseWith(DeliverBatchSchema, request.body);
    deliverBatch(batch.events, deps.hub, deps.metrics);
    return reply.code(204).send();
  });
}
