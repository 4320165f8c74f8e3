import { parseWith, RegionCountsSchema, RegionPresenceSchema, RelayBatchSchema } from '@ovation/shared';
import type { InternalAuth } from '@ovation/shared/server';
import type { FastifyInstance } from 'fastify';
import type { Publisher } from '../fanout/publisher.js';
import type { PresenceStore } from '../presence/presence-store.js';
import type { SubscriptionRegistry } from '../registry/registry.js';
import { registryCall } from './registry-call.js';

/*
 * Internal, from other regions' dispatchers:
 *   POST /internal/relay          {events}  events accepted there: accepted here once each, fanned
 *                                           out to this region's nodes, added to its history
 *   POST /internal/region-counts  {region, counts, ttlMs}  that region's viewers per topic
 *   POST /internal/region-presence {region, reports}  the node presence reports it took, in order
 *                                           (relay/presence-forward.ts): taken here as our own
 */
export function relayRoutes(
  app: FastifyInstance,
  deps: {
    publisher: Publisher;
    registry: SubscriptionRegistry;
    presence: PresenceStore;
    region: string;
    auth: InternalAuth;
  },
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

  app.post('/internal/region-presence', { onRequest: deps.auth, bodyLimit: 8 * 1024 * 1024 }, async (request) => {
    const message = parseWith(RegionPresenceSchema, request.body);
    if (message.region === deps.region) return { ok: true };
    await registryCall(async () => {
      for (const topics of message.reports) await deps.presence.report(topics);
    });
    return { ok: true };
  });
}
