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
import type { TopicLog, TopicLogLimits, TopicRead } from '../topic-log/topic-log.js';
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

  const toCatchUp = (topic: string, read: TopicRead, viewers: number): TTopicCatchUp => {
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
      reactions: read.reactions,
      ...(read.status === undefined ? {} : { status: read.status }),
      ...(read.cut ? { cut: true } : {}),
      events,
    };
  };

  // Up to 1,000 topics of up to 128 characters, with their epochs: past the default 64 KiB.
  const options = { onRequest: deps.auth, bodyLimit: 4 * 1024 * 1024 };
  app.post('/internal/catch-up', options, async (request): Promise<TCatchUpResponse> => {
    const { topics } = parseWith(CatchUpRequestSchema, request.body);
    const results = await registryCall(() =>
      timed(metrics, 'catch_up', async () => {
        const [reads, viewers] = await Promise.all([
          log.readMany(topics),
          registry.topicViewers(topics.map((t) => t.topic)),
        ]);
        // A snapshot says what the topic's last `viewers` event said (the stream goes on from there);
        // before the first one, this region's count.
        return topics.map((t, i) => {
          const read = reads[i] as TopicRead;
          return toCatchUp(t.topic, read, read.viewers ?? viewers[i] ?? 0);
        });
      }),
    );
    return { topics: results };
  });
}
