import { NodeHeartbeatSchema, NodeTopicsSchema, parseWith, type TNodeAck } from '@ovation/shared';
import type { InternalAuth } from '@ovation/shared/server';
import type { FastifyInstance } from 'fastify';
import { type DispatcherMetrics, timed } from '../metrics.js';
import type { SubscriptionRegistry } from '../registry/registry.js';
import type { StoreRecovery } from '../store-recovery.js';
import { registryCall } from './registry-call.js';

/*
 * Internal: realtime nodes keep their registration here.
 *   POST /internal/nodes/heartbeat  full state (liveness + per-topic viewer counts), authoritative
 *   POST /internal/nodes/topics     first viewer of a topic arrived / last one left
 */
export function nodeRoutes(
  app: FastifyInstance,
  deps: {
    registry: SubscriptionRegistry;
    nodeTtlMs: number;
    metrics: DispatcherMetrics;
    auth: InternalAuth;
    recovery: StoreRecovery;
  },
) {
  const { registry, nodeTtlMs, metrics } = deps;
  const ack: TNodeAck = { ok: true, ttlMs: nodeTtlMs };

  app.post('/internal/nodes/heartbeat', { preHandler: deps.auth }, async (request) => {
    const beat = parseWith(NodeHeartbeatSchema, request.body);
    await registryCall(async () => {
      await timed(metrics, 'heartbeat', () =>
        registry.heartbeat({ nodeId: beat.nodeId, url: beat.url }, beat.counts, nodeTtlMs),
      );
      if (beat.latency)
        await timed(metrics, 'record_latency', () => registry.recordLatency(beat.latency ?? {}, Date.now()));
    });
    deps.recovery.heard(beat.nodeId);
    return ack;
  });

  app.post('/internal/nodes/topics', { preHandler: deps.auth }, async (request) => {
    const change = parseWith(NodeTopicsSchema, request.body);
    const node = { nodeId: change.nodeId, url: change.url };
    await registryCall(async () => {
      if (change.add.length > 0)
        await timed(metrics, 'add_topics', () => registry.addTopics(node, change.add, nodeTtlMs));
      if (change.remove.length > 0)
        await timed(metrics, 'remove_topics', () => registry.removeTopics(node.nodeId, change.remove));
    });
    return ack;
  });
}
