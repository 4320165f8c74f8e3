import {
  latencyPercentiles,
  parseWith,
  type TLatencySummary,
  TopicSchema,
  type TViewersBatchResponse,
  type TViewersResponse,
  ViewersBatchRequestSchema,
} from '@ovation/shared';
import type { InternalAuth } from '@ovation/shared/server';
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { LATENCY_WINDOW_MS, type SubscriptionRegistry } from '../registry/registry.js';
import { registryCall } from './registry-call.js';

export const TopicParamsSchema = z.object({ topic: TopicSchema });

/** GET /topics/:topic/viewers: connections subscribed to the topic in every region, and by region. */
export function topicRoutes(
  app: FastifyInstance,
  deps: { registry: SubscriptionRegistry; region: string; auth: InternalAuth },
) {
  app.get('/topics/:topic/viewers', async (request): Promise<TViewersResponse> => {
    const { topic } = parseWith(TopicParamsSchema, request.params, 'params');
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
    const { topic } = parseWith(TopicParamsSchema, request.params, 'params');
    const buckets = await registryCall(() => deps.registry.latencyBuckets(topic, Date.now()));
    return { topic, windowSeconds: LATENCY_WINDOW_MS / 1000, ...latencyPercentiles(buckets) };
  });

  /*
   * POST /topics/viewers `{ topics }` (internal token, at most MAX_VIEWER_TOPICS): each topic's
   * viewers in every region, as the single-topic route sums them. One registry look-up and one
   * read of the other regions' reports for the whole list: the web's video list asks once per page
   * instead of once per live video (100 spam videos × 30 lists were 3,000 requests). The token is
   * checked before the body is read (onRequest), as on every internal route; 200 topics fit in 64 KiB.
   */
  const options = { onRequest: deps.auth, bodyLimit: 64 * 1024 };
  app.post('/topics/viewers', options, async (request): Promise<TViewersBatchResponse> => {
    const { topics } = parseWith(ViewersBatchRequestSchema, request.body, 'body');
    const [local, regions] = await registryCall(() =>
      Promise.all([deps.registry.topicViewers(topics), deps.registry.regionCounts()]),
    );
    const counts: Record<string, number> = {};
    topics.forEach((topic, i) => {
      // As the single-topic route: this region's own count, then each other region's report.
      let count = regions.has(deps.region) ? 0 : (local[i] ?? 0);
      for (const byTopic of regions.values()) count += byTopic.get(topic) ?? 0;
      counts[topic] = count;
    });
    return { counts };
  });
}
