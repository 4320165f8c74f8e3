import { parseWith, RegionCountsSchema, RelayBatchSchema } from '@ovation/shared';
import type { InternalAuth } from '@ovation/shared/server';
import type { FastifyInstance } from 'fastify';
import type { Publisher } from '../fanout/publisher.js';
import type { SubscriptionRegistry } from '../registry/registry.js';
import { registryCall } from './registry-call.js';

/*
 * Internal, from other regions' dispatchers:
 *   POST /internal/relay          {events}  events accepted there: accepted here once each, fanned
 *                                           out to this region's nodes, added to its history
 *   POST /internal/region-counts  {region, counts, ttlMs}  that region's viewers per topic
 */
export function relayRoutes(
  app: FastifyInstance,
  deps: { publisher: Publisher; registry: SubscriptionRegistry; region: string; auth: InternalAuth },
) {
  app.post('/internal/relay', { onRequest: deps.auth, bodyLimit: 16 * 1024 * 1024 }, async (request) => {
    const { events } = parseWith(RelayBatchSchema, request.body);
    return deps.publisher.acceptRelayed(events);
  });

  app.post('/internal/region-counts', { onRequest: deps.auth, bodyLimit: 16 * 1024 * 1024 }, async (request) => {
    const report = parseWith(RegionCountsSchema, request.body);
    if (report.region === deps.region) return { ok: true };
    await registryCall(() => deps.registry.setRegionCounts(report.region, report.counts, report.ttlMs));
    return { ok: true };
  });
}
