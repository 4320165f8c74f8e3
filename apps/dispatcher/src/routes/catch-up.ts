import {
  CatchUpRequestSchema,
  parseWith,
  positionId,
  type TCatchUpResponse,
  type TTopicCatchUp,
  type TWireEvent,
} from '@ovation/shared';
import type { InternalAuth } from '@ovation/shared/server';
import type { FastifyInstance } from 'fastify';
import { type DispatcherMetrics, timed } from '../metrics.js';
import type { SubscriptionRegistry } from '../registry/registry.js';
import type { TopicLog, TopicLogLimits } from '../topic-log/topic-log.js';
import { registryCall } from './registry-call.js';

/*
 * Internal: POST /internal/catch-up {topics: [{topic, from?}]} — for nodes handing new subscribers
 * over to the live stream: each topic's snapshot (position, viewers, like total, status) and, when
 * `from` is given, the history events after that position, their ids rebuilt from their positions.
 */
export function catchUpRoutes(
  app: FastifyInstance,
  deps: {
    log: TopicLog;
    registry: SubscriptionRegistry;
    limits: TopicLogLimits;
    region: string;
    metrics: DispatcherMetrics;
    auth: InternalAuth;
  },
) {
  const { log, registry, limits, region, metrics } = deps;

  const catchUp = async (
    topic: string,
    from: number | undefined,
    epochs: readonly string[] | undefined,
  ): Promise<TTopicCatchUp> => {
    const [read, viewers] = await Promise.all([log.read(topic, from, epochs), registry.topicViewers(topic)]);
    const events: TWireEvent[] = [];
    for (const entry of read.events) {
      const body = JSON.parse(entry.body) as Omit<TWireEvent, 'id'>;
      events.push({ ...body, id: positionId({ ts: body.ts, pos: entry.pos, epoch: read.epoch, region }) });
    }
    return {
      topic,
      epoch: read.epoch,
      pos: read.pos,
      trimmedThrough: read.trimmedThrough,
      maxAgeMs: limits.maxAgeMs,
      region,
      viewers,
      likes: read.likes,
      ...(read.status === undefined ? {} : { status: read.status }),
      events,
    };
  };

  app.post('/internal/catch-up', { preHandler: deps.auth }, async (request): Promise<TCatchUpResponse> => {
    const { topics } = parseWith(CatchUpRequestSchema, request.body);
    const results = await registryCall(() =>
      timed(metrics, 'catch_up', () => Promise.all(topics.map((t) => catchUp(t.topic, t.from, t.epochs)))),
    );
    return { topics: results };
  });
}
