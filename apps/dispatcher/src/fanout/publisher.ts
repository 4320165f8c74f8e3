import { AppError, newEpoch, positionIdAt, positionIdTime, type TPublishEvent } from '@ovation/shared';
import { type DispatcherMetrics, timed } from '../metrics.js';
import type { NodeInfo } from '../registry/registry.js';
import type { StoreRecovery } from '../store-recovery.js';
import { isHistoryType, type TopicAppend, type TopicLog } from '../topic-log/topic-log.js';
import type { NodeChannels } from './node-channel.js';

/*
 * Accepting a publish:
 *
 *   events grouped by topic, each encoded once (without its id)
 *     ─▶ topic log accept (one round trip): positions, history, like total, status, nodes
 *     ─▶ ids made from the positions ─▶ queued on the channel of every node with viewers
 *
 * A 202 means every event is in its topic's history (likes and viewer counts: in the totals) and
 * queued for every node with viewers, so a viewer whose node fails still gets it on resume. When
 * the log cannot be reached, or a node the topics went to last time is behind (its queue full),
 * the publish fails with 503 and nothing is accepted.
 */
export interface Publisher {
  publish(events: readonly TPublishEvent[]): Promise<string[]>;
}

/** Topics whose last nodes are remembered for the backpressure check (bounded). */
const MAX_REMEMBERED_ROUTES = 100_000;

interface TopicGroup {
  topic: string;
  /** Index of each of the topic's events in the publish. */
  indexes: number[];
  /** Each event as JSON without its id: `{"topic":…,"type":…,"data":…,"ts":…,"region":…}`. */
  bodies: string[];
}

export function createPublisher(deps: {
  log: TopicLog;
  channels: NodeChannels;
  region: string;
  metrics: DispatcherMetrics;
  recovery?: StoreRecovery;
}): Publisher {
  const { log, channels, region, metrics, recovery } = deps;
  const routes = new Map<string, NodeInfo[]>();

  const congestedNode = (topics: Iterable<string>): string | undefined => {
    for (const topic of topics) {
      for (const node of routes.get(topic) ?? []) {
        if (channels.get(node.nodeId, node.url).congested) return node.nodeId;
      }
    }
    return undefined;
  };

  return {
    async publish(events) {
      if (recovery?.recovering) {
        metrics.publishRequests.inc({ outcome: 'recovering' });
        throw new AppError('UNAVAILABLE', 'subscription store recovering from a restart; retry shortly', {
          retryAfterSeconds: 1,
        });
      }
      const ts = Date.now();
      const groups = groupByTopic(events, ts, region);
      const slow = congestedNode(groups.keys());
      if (slow !== undefined) {
        metrics.publishRequests.inc({ outcome: 'backpressure' });
        throw new AppError('UNAVAILABLE', `fan-out to node ${slow} is behind; retry shortly`, { retryAfterSeconds: 1 });
      }

      const list = [...groups.values()];
      const appends = list.map((group) => toAppend(group, events));
      let accepted: Awaited<ReturnType<TopicLog['accept']>>;
      try {
        accepted = await timed(metrics, 'accept', () => log.accept(appends));
      } catch (error) {
        throw new AppError('UNAVAILABLE', 'topic log unavailable; retry', { cause: error });
      }

      if (routes.size > MAX_REMEMBERED_ROUTES) routes.clear();
      const ids: string[] = new Array(events.length);
      const time = positionIdTime(ts);
      list.forEach((group, g) => {
        const { epoch, base, nodes } = accepted[g] as (typeof accepted)[number];
        routes.set(group.topic, nodes);
        const targets = nodes.map((node) => channels.get(node.nodeId, node.url));
        group.indexes.forEach((index, k) => {
          const id = positionIdAt(time, base + k + 1, epoch, region);
          ids[index] = id;
          metrics.publishedEvents.inc({ type: (events[index] as TPublishEvent).type });
          if (targets.length === 0) return;
          // The body is `{…}` without the id: the wire event is the id spliced in front.
          const wire = `{"id":"${id}",${(group.bodies[k] as string).slice(1)}`;
          for (const channel of targets) channel.enqueue(wire);
        });
      });
      return ids;
    },
  };
}

function groupByTopic(events: readonly TPublishEvent[], ts: number, region: string): Map<string, TopicGroup> {
  const groups = new Map<string, TopicGroup>();
  events.forEach((event, index) => {
    let group = groups.get(event.topic);
    if (!group) {
      group = { topic: event.topic, indexes: [], bodies: [] };
      groups.set(event.topic, group);
    }
    group.indexes.push(index);
    group.bodies.push(JSON.stringify({ topic: event.topic, type: event.type, data: event.data, ts, region }));
  });
  return groups;
}

function toAppend(group: TopicGroup, events: readonly TPublishEvent[]): TopicAppend {
  const history: Array<{ index: number; body: string }> = [];
  let likeDelta = 0;
  let likeTotal = -1;
  let status: string | undefined;
  group.indexes.forEach((index, k) => {
    const event = events[index] as TPublishEvent;
    if (event.type === 'like') {
      // Validated at the boundary: count is a positive integer, total (when given) one ≥ 0.
      const { count, total } = event.data as { count: number; total?: number };
      if (total === undefined) likeDelta += count;
      else likeTotal = Math.max(likeTotal, total);
    } else if (event.type === 'status' && typeof event.data.status === 'string') {
      status = event.data.status.slice(0, 32);
    }
    if (isHistoryType(event.type)) history.push({ index: k, body: group.bodies[k] as string });
  });
  return {
    topic: group.topic,
    count: group.indexes.length,
    history,
    likeDelta,
    likeTotal,
    status,
    newEpoch: newEpoch(),
  };
}
