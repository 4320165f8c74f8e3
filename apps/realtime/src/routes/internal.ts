import { DeliverBatchSchema, parseWith } from '@ovation/shared';
import { contextFrom, type InternalAuth, inSpan, SpanKind } from '@ovation/shared/server';
import type { FastifyInstance } from 'fastify';
import type { FanoutScheduler } from '../fanout/scheduler.js';

/** Internal: POST /internal/deliver — a batch of events from a dispatcher, written to local viewers. */
export function internalRoutes(app: FastifyInstance, deps: { fanout: FanoutScheduler; auth: InternalAuth }) {
  app.post('/internal/deliver', { onRequest: deps.auth, bodyLimit: 16 * 1024 * 1024 }, async (request, reply) => {
    const batch = parseWith(DeliverBatchSchema, request.body);
    // Traced: the dispatcher's delivery span (its `traceparent`) continues here.
    await inSpan('POST /internal/deliver', async () => deps.fanout.enqueue(batch.events), {
      kind: SpanKind.SERVER,
      parent: contextFrom(request.headers),
      attributes: { 'ovation.events': batch.events.length },
    });
    return reply.code(204).send();
  });
}
