import { AppError, type EventIdGenerator, type TPublishEvent, type TWireEvent } from '@ovation/shared';
import { type DispatcherMetrics, timed } from '../metrics.js';
import type { SubscriptionRegistry } from '../registry/registry.js';
import type { NodeChannels } from './node-channel.js';

/*
 * Accepting a publish:
 *   ids + publish time stamped ─▶ registry look-up (one pipelined round trip for all topics of
 *   the batch) ─▶ each event encoded once ─▶ queued on the channel of every node with viewers.
 * A 202 means the events are queued for every subscribed node; when the registry cannot answer,
 * or a node's queue is full (the node is behind), the publish fails with 503 and nothing is queued.
 */
export interface Publisher {
  publish(events: readonly TPublishEvent[]): Promise<string[]>;
}

export function createPublisher(deps: {
  registry: SubscriptionRegistry;
  channels: NodeChannels;
  ids: EventIdGenerator;
  region: string;
  metrics: DispatcherMetrics;
}): Publisher {
  const { registry, channels, ids, region, metrics } = deps;
  return {
    async publish(events) {
      const topics = [...new Set(events.map((e) => e.topic))];
      let nodesByTopic: Awaited<ReturnType<SubscriptionRegistry['nodesFor']>>;
      try {
        nodesByTopic = await timed(metrics, 'nodes_for', () => registry.nodesFor(topics));
      } catch (error) {
        throw new AppError('UNAVAILABLE', 'subscription registry unavailable; retry', { cause: error });
      }
      // Backpressure: refuse the whole publish (nothing is queued, no id is given) while any node
      // it would go to is congested.
      for (const nodes of nodesByTopic.values()) {
        for (const node of nodes) {
          if (channels.get(node.nodeId, node.url).congested) {
            metrics.publishRequests.inc({ outcome: 'backpressure' });
            throw new AppError('UNAVAILABLE', `fan-out to node ${node.nodeId} is behind; retry shortly`, {
              retryAfterSeconds: 1,
            });
          }
        }
      }
      const ts = Date.now();
      const accepted: string[] = [];
      for (const event of events) {
        const wire: TWireEvent = {
          id: ids.next(ts),
          topic: event.topic,
          type: event.type,
          data: event.data,
          ts,
          region,
        };
        accepted.push(wire.id);
        metrics.publishedEvents.inc({ type: event.type });
        const nodes = nodesByTopic.get(event.topic);
        if (!nodes) continue;
        const encoded = JSON.stringify(wire);
        for (const node of nodes) channels.get(node.nodeId, node.url).enqueue(encoded);
      }
      return accepted;
    },
  };
}
