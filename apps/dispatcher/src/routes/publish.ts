import { AppError, PublishBatchSchema, PublishEventSchema, parseWith, type TPublishEvent } from '@ovation/shared';
import type { InternalAuth } from '@ovation/shared/server';
import type { FastifyInstance } from 'fastify';
import type { Publisher } from '../fanout/publisher.js';

/** POST /publish: one event `{topic,type,data}` or a batch `{events:[...]}` → 202 `{ids}`. */
export function publishRoutes(app: FastifyInstance, deps: { publisher: Publisher; auth: InternalAuth }) {
  app.post('/publish', { preHandler: deps.auth }, async (request, reply) => {
    const events = parseEvents(request.body);
    const ids = await deps.publisher.publish(events);
    return reply.code(202).send({ ids });
  });
}

function parseEvents(body: unknown): TPublishEvent[] {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new AppError('VALIDATION_FAILED', 'body: must be a JSON object {topic,type,data} or {events:[...]}');
  }
  if ('events' in body) return parseWith(PublishBatchSchema, body).events;
  return [parseWith(PublishEventSchema, body)];
}
