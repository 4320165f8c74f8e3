import { NodeHeartbeatSchema, NodeSyncSchema, NodeTopicsSchema, parseWith, type TNodeAck } from '@ovation/shared';
import type { InternalAuth } from '@ovation/shared/server';
import type { FastifyInstance } from 'fastify';
import { type DispatcherMetrics, timed } from '../metrics.js';
import type { SubscriptionRegistry } from '../registry/registry.js';
import type { TopicLog } from '../topic-log/topic-log.js';
import { registryCall } from './registry-call.js';

/** Node messages carry up to MAX_TOPICS_PER_NODE_MESSAGE topics of up to 128 characters. */
const NODE_BODY_LIMIT = 8 * 1024 * 1024;

/*
 * Internal: realtime nodes keep their registration here.
 *   POST /internal/nodes/topics     first viewer of a topic arrived / last one left
 *   POST /internal/nodes/heartbeat  liveness + viewer counts that changed; the ack asks for a
 *                                   full sync when the registry lacks the node's full state
 *   POST /internal/nodes/sync       the node's full state, in parts (and the topic state it
 *                                   knows, which a store that lost its data takes back)
 * A node may hold any number of topics: every message is cut into bounded parts by the node.
 */
export function nodeRoutes(
  app: FastifyInstance,
  deps: {
    registry: SubscriptionRegistry;
    log: TopicLog;
    nodeTtlMs: number;
    metrics: DispatcherMetrics;
    auth: InternalAuth;
  },
) {
  const { registry, log, nodeTtlMs, metrics } = deps;
  const ack: TNodeAck = { ok: true, ttlMs: nodeTtlMs };
  const options = { onRequest: deps.auth, bodyLimit: NODE_BODY_LIMIT };

  app.post('/internal/nodes/heartbeat', options, async (request): Promise<TNodeAck> => {
    const beat = parseWith(NodeHeartbeatSchema, request.body);
    const { resync } = await registryCall(async () => {
      const result = await timed(metrics, 'heartbeat', () =>
        registry.heartbeat({ nodeId: beat.nodeId, url: beat.url }, beat.counts, nodeTtlMs, beat.topics),
      );
      if (beat.latency)
        await timed(metrics, 'record_latency', () => registry.recordLatency(beat.latency ?? {}, Date.now()));
      return result;
    });
    return resync ? { ...ack, resync: true } : ack;
  });

  app.post('/internal/nodes/sync', options, async (request): Promise<TNodeAck> => {
    const part = parseWith(NodeSyncSchema, request.body);
    await registryCall(async () => {
      const states = Object.entries(part.state ?? {}).map(([topic, state]) => ({ topic, ...state }));
      if (states.length > 0) await timed(metrics, 'restore_state', () => log.restore(states));
      await timed(metrics, 'sync', () =>
        registry.syncTopics({ nodeId: part.nodeId, url: part.url }, part.syncId, part.counts, part.last, nodeTtlMs),
      );
    });
    return ack;
  });

  app.post('/internal/nodes/topics', options, async (request): Promise<TNodeAck> => {
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
