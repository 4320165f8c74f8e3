import {
  AppError,
  IdempotencyKeySchema,
  PublishBatchSchema,
  PublishEventSchema,
  parseWith,
  type TPublishEvent,
} from '@ovation/shared';
import { contextFrom, type InternalAuth, inSpan, SpanKind } from '@ovation/shared/server';
import type { FastifyInstance } from 'fastify';
import type { Publisher } from '../fanout/publisher.js';

/**
 * POST /publish: one event `{topic,type,data}` or a batch `{events:[...]}` → 202 `{ids}`.
 * `Idempotency-Key` covers the whole request; a batch event's `key` covers that event.
 */
export function publishRoutes(app: FastifyInstance, deps: { publisher: Publisher; auth: InternalAuth }) {
  app.post('/publish', { onRequest: deps.auth }, async (request, reply) => {
    const key = idempotencyKey(request.headers['idempotency-key']);
    const events = parseEvents(request.body);
    // Traced: a span continuing the caller's trace (its `traceparent`), the accept under it.
    const ids = await inSpan('POST /publish', () => deps.publisher.publish(events, { key }), {
      kind: SpanKind.SERVER,
      parent: contextFrom(request.headers),
      attributes: { 'ovation.events': events.length, 'ovation.topic': events[0]?.topic ?? '' },
    });
    return reply.code(202).send({ ids });
  });
}

function idempotencyKey(header: string | string[] | undefined): string | undefined {
  if (header === undefined) return undefined;
  const parsed = IdempotencyKeySchema.safeParse(header);
  if (!parsed.success) {
    throw new AppError('VALIDATION_FAILED', 'Idempotency-Key: must be one header of 1-128 printable ASCII characters');
  }
  return parsed.data;
}

function parseEvents(body: unknown): TPublishEvent[] {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new AppError('VALIDATION_FAILED', 'body: must be a JSON object {topic,type,data} or {events:[...]}');
  }
  if ('events' in body) return parseWith(PublishBatchSchema, body).events;
  return [parseWith(PublishEventSchema, body)];
}
