import {
  latencyPercentiles,
  parseWith,
  type TLatencySummary,
  TopicSchema,
  type TViewersResponse,
} from '@ovation/shared';
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { LATENCY_WINDOW_MS, type SubscriptionRegistry } from '../registry/registry.js';
import { registryCall } from './registry-call.js';

const ParamsSchema = z.object({ topic: TopicSchema });

/** GET /topics/:topic/viewers: connections subscribed to the topic in every region, and by region. */
export function topicRoutes(app: FastifyInstance, deps: { registry: SubscriptionRegistry; region: string }) {
  app.get('/topics/:topic/viewers', async (request): Promise<TViewersResponse> => {
    const { topic } = parseWith(ParamsSchema, request.params, 'params');
    const [[local = 0], regions] = await registryCall(() =>
      Promise.all([deps.registry.topicViewers([topic]), deps.registry.regionCountsFor(topic)]),
    );
    const byRegion: Record<string, number> = { [deps.region]: local };
    for (const [region, count] of regions) byRegion[region] = count;
    const count = Object.values(byRegion).reduce((sum, n) => sum + n, 0);
    return { count, byRegion };
  });

  // Delivery latency as the topic's viewers measured it (publish → receipt), over the last minute.
  app.get('/topics/:topic/latency', async (request): Promise<TLatencySummary> => {
    const { topic } = parseWith(ParamsSchema, request.params, 'params');
    const buckets = await registryCall(() => deps.registry.latencyBuckets(topic, Date.now()));
    return { topic, windowSeconds: LATENCY_WINDOW_MS / 1000, ...latencyPercentiles(buckets) };
  });
}
