import {
  AppError,
  COUNTED_REACTIONS,
  newEpoch,
  parsePositionId,
  positionIdAt,
  positionIdTime,
  RelayedEventSchema,
  reactionSum,
  type TLikePayload,
  type TPublishEvent,
  type TReactionCounts,
  type TRelayWireEvent,
} from '@ovation/shared';
import { activeSpanContext, inSpan } from '@ovation/shared/server';
import { type DispatcherMetrics, eventTypeLabel, timed } from '../metrics.js';
import type { NodeInfo } from '../registry/registry.js';
import type { StoreRecovery } from '../store-recovery.js';
import {
  type AcceptRequest,
  dedupeMark,
  isHistoryType,
  isRegionalType,
  parseAnswer,
  type TopicAppend,
  type TopicLog,
} from '../topic-log/topic-log.js';
import type { NodeChannels } from './node-channel.js';

/*
 * Accepting events — published here, or relayed from another region:
 *
 *   events grouped by topic, each encoded once (without its id)
 *     ─▶ topic log accept (one round trip): positions, history, like total, status, nodes
 *        (relayed events: minus those already accepted here, by their origin id)
 *     ─▶ ids made from the positions ─▶ queued on the channel of every node with viewers
 *     ─▶ published ones (not relayed ones: no loops) go to every peer region's relay outbox — with
 *        Redis in the accept step itself (relay/outbox.ts), so no 202 outlives its relay
 *
 * A 202 means every event is in its topic's history (likes and viewer counts: in the totals) and
 * queued for every node with viewers, so a viewer whose node fails still gets it on resume. When
 * the log cannot be reached, or a node the topics went to last time is behind (its queue full),
 * the publish fails with 503 and nothing is accepted.
 *
 * Idempotency: a request's `Idempotency-Key` and a batch event's `key` are remembered by the topic
 * log in the same atomic step that accepts the events (with what the 202 said), so a publisher
 * that retries — after a timeout, through another dispatcher — gets the first answer again and
 * nothing is accepted or delivered twice.
 */
export interface Publisher {
  /** Accepts a publish; returns one id per event. Relayed to peer regions. */
  publish(events: readonly TPublishEvent[], options?: { key?: string | undefined }): Promise<string[]>;
  /** Accepts events relayed from another region (each once, by origin id); not relayed again. */
  acceptRelayed(events: readonly TRelayWireEvent[]): Promise<{ accepted: number; duplicates: number }>;
}

/** Where accepted events go besides local nodes: the relay outboxes of peer regions (memory engine). */
export interface RelayOut {
  enqueue(encodedEvents: readonly string[]): void;
}

/** Topics whose last nodes are remembered for the backpressure check (bounded). */
const MAX_REMEMBERED_ROUTES = 100_000;

/** One event to accept: published here (`originId` unset) or relayed. */
interface Item {
  topic: string;
  type: string;
  data: Record<string, unknown>;
  ts: number;
  region: string;
  originId?: string | undefined;
  /** Idempotency key of this event (a batch event's `key`). */
  key?: string | undefined;
  /**
   * Its key's identity in the region it was published in (RelayWireEventSchema `relayKey`):
   * published here, what the outbox carries; relayed, `<region>:<relayKey>` (TopicAppend.relayKeys).
   */
  relayKey?: string | undefined;
}

/** What one accept round came to. */
type Round =
  | { accepted: Array<{ index: number; id: string; wire: string }> }
  | { duplicates: Array<{ index: number; answer?: string | undefined }> }
  | { replay: string[] };

/** Unconfirmed accepts a dispatcher keeps for delivery once confirmed; past it, the next event shows the gap. */
const MAX_LATE_DELIVERIES = 1000;

/** Rounds a publish may take when some of its events turn out accepted already (their keys, marks). */
const MAX_ROUNDS = 3;

interface TopicGroup {
  topic: string;
  /** Index of each of the topic's events among the items. */
  indexes: number[];
  /** Each event as JSON without its id: `{"topic":…,"type":…,"data":…,"ts":…,"region":…[,"originId":…]}`. */
  bodies: string[];
}

export function createPublisher(deps: {
  log: TopicLog;
  channels: NodeChannels;
  region: string;
  metrics: DispatcherMetrics;
  recovery?: StoreRecovery;
  relay?: RelayOut;
}): Publisher {
  const { log, channels, region, metrics, recovery, relay } = deps;
  const routes = new Map<string, NodeInfo[]>();

  const refuseIfUnable = async (topics: Iterable<string>) => {
    if (await recovery?.recovering()) {
      metrics.publishRequests.inc({ outcome: 'recovering' });
      throw new AppError('UNAVAILABLE', 'subscription store recovering from a restart; retry shortly', {
        retryAfterSeconds: 1,
      });
    }
    for (const topic of topics) {
      // A node the topic went to last time that is too far behind; one that left has no channel.
      for (const node of routes.get(topic) ?? []) {
        if (!channels.find(node.nodeId)?.congested) continue;
        metrics.publishRequests.inc({ outcome: 'backpressure' });
        throw new AppError('UNAVAILABLE', `fan-out to node ${node.nodeId} is behind; retry shortly`, {
          retryAfterSeconds: 1,
        });
      }
    }
  };

  /** Accepts waiting for their replicas to confirm them after their 503 (see `accept`). */
  let lateDeliveries = 0;
  const unreplicated = () => {
    metrics.publishRequests.inc({ outcome: 'unreplicated' });
    return new AppError(
      'UNAVAILABLE',
      'not confirmed by a Redis replica in time; retry with the same Idempotency-Key',
      {
        retryAfterSeconds: 1,
      },
    );
  };

  /** Accepts the items at `indexes` but `skip`: their wire JSON and ids — or why nothing was accepted. */
  const accept = async (
    items: readonly Item[],
    indexes: readonly number[],
    skip: ReadonlySet<number>,
    request?: Omit<AcceptRequest, 'order'>,
  ): Promise<Round> => {
    const groups = groupByTopic(items, indexes, skip);
    await refuseIfUnable(groups.keys());
    const list = [...groups.values()];
    const appends = list.map((group) => toAppend(group, items, request?.relay === true));
    let accepted: Awaited<ReturnType<TopicLog['accept']>>;
    try {
      const round = () => log.accept(appends, request && { ...request, order: list.map((group) => group.indexes) });
      accepted = await timed(metrics, 'accept', () =>
        inSpan('accept', round, { attributes: { 'ovation.topics': appends.length } }),
      );
    } catch (error) {
      throw new AppError('UNAVAILABLE', 'topic log unavailable; retry', { cause: error });
    }
    if ('unreplicated' in accepted && accepted.unreplicated) throw unreplicated();
    if ('replay' in accepted) return { replay: accepted.replay };
    if ('duplicates' in accepted) {
      return {
        duplicates: accepted.duplicates.map(({ append, index, answer }) => ({
          index: list[append]?.indexes[index] ?? -1,
          answer,
        })),
      };
    }

    if (routes.size > MAX_REMEMBERED_ROUTES) routes.clear();
    // One call is one slot: its topics are all confirmed, or none.
    const unconfirmed = accepted.find((topic) => topic.unreplicated);
    /** With `unconfirmed`: what goes to the nodes once confirmed, instead of now (below). */
    const held: Array<{ targets: ReturnType<NodeChannels['get']>[]; wire: string }> = [];
    const done: Array<{ index: number; id: string; wire: string }> = [];
    const times = new Map<number, string>();
    // Traced: the publish's span, which the delivery spans link to (undefined when off).
    const traced = activeSpanContext();
    list.forEach((group, g) => {
      const { epoch, base, nodes } = accepted[g] as (typeof accepted)[number];
      routes.set(group.topic, nodes);
      const targets = nodes.map((node) => channels.get(node.nodeId, node.url));
      group.indexes.forEach((index, k) => {
        const item = items[index] as Item;
        let time = times.get(item.ts);
        if (time === undefined) {
          time = positionIdTime(item.ts);
          times.set(item.ts, time);
        }
        const id = positionIdAt(time, base + k + 1, epoch, region);
        metrics.publishedEvents.inc({ type: eventTypeLabel(item.type) });
        // The body is `{…}` without the id: the wire event is the id spliced in front.
        const wire = `{"id":"${id}",${(group.bodies[k] as string).slice(1)}`;
        done.push({ index, id, wire });
        if (unconfirmed) held.push({ targets, wire });
        else for (const channel of targets) channel.enqueue(wire, traced);
      });
    });
    // The events are in the master's log but no replica confirmed them in time: 503, and nothing
    // goes to the nodes yet — this master may have lost its slots to its replica already (it was
    // stopped, and has not heard yet), and what it accepts then is dropped when it rejoins as a
    // replica: viewers would have seen events the log no longer has, and again, at other
    // positions, when retried. They go once the replicas have them after all, this master still
    // the slot's (a replica that was only slow); else nodes find what the log keeps as a gap the
    // next event reveals. A retry with the same keys is answered from the store.
    if (unconfirmed) {
      const { confirmLater } = unconfirmed;
      if (confirmLater && lateDeliveries < MAX_LATE_DELIVERIES) {
        lateDeliveries++;
        confirmLater()
          .then((confirmed) => {
            if (confirmed)
              for (const { targets, wire } of held) for (const channel of targets) channel.enqueue(wire, traced);
          })
          .catch(() => {})
          .finally(() => lateDeliveries--);
      }
      throw unreplicated();
    }
    return { accepted: done };
  };

  /**
   * Item indexes per shard of the log: one shard unless the store is a Redis Cluster, where each
   * hash slot's topics are accepted by one call of their own (TopicLog.shardOf).
   */
  const shardsOf = (items: readonly Item[]): Array<{ shard: number; indexes: number[] }> => {
    const byShard = new Map<number, number[]>();
    items.forEach((item, index) => {
      const shard = log.shardOf(item.topic);
      const indexes = byShard.get(shard);
      if (indexes) indexes.push(index);
      else byShard.set(shard, [index]);
    });
    return [...byShard].map(([shard, indexes]) => ({ shard, indexes }));
  };

  /** The id an idempotency answer stands for (see topic-log.ts `answer`). */
  const answerId = (value: string | undefined): string => {
    const parts = value === undefined ? undefined : parseAnswer(value);
    return parts ? positionIdAt(parts.time, parts.pos, parts.epoch, region) : '';
  };

  return {
    async publish(events, options = {}) {
      const ts = Date.now();
      const items: Item[] = events.map((e, i) => ({
        topic: e.topic,
        type: e.type,
        data: e.data,
        ts,
        region,
        key: e.key,
        relayKey: e.key !== undefined ? `e:${e.key}` : options.key !== undefined ? `r:${options.key}:${i}` : undefined,
      }));
      const keyed = options.key !== undefined || items.some((item) => item.key !== undefined);
      const relaying = relay !== undefined;
      const ids: string[] = new Array(items.length);
      const outcomes = await Promise.all(
        shardsOf(items).map(async ({ shard, indexes }) => {
          // Events accepted before under their own key: request index → answer.
          const known = new Map<number, string>();
          for (let round = 0; round < MAX_ROUNDS; round++) {
            const request =
              keyed || relaying
                ? {
                    time: positionIdTime(ts),
                    key: options.key,
                    size: items.length,
                    prefilled: [...known],
                    relay: relaying,
                    shard,
                  }
                : undefined;
            const result = await accept(items, indexes, new Set(known.keys()), request);
            if ('replay' in result) {
              for (const index of indexes) ids[index] = answerId(result.replay[index]);
              return 'replayed' as const;
            }
            if ('duplicates' in result) {
              for (const { index, answer } of result.duplicates) known.set(index, answer ?? '');
              continue;
            }
            for (const { index, id } of result.accepted) ids[index] = id;
            for (const [index, answer] of known) ids[index] = answerId(answer);
            relay?.enqueue(
              result.accepted.filter(({ index }) => !isRegionalType(items[index]?.type)).map(({ wire }) => wire),
            );
            return known.size > 0 ? ('partly_replayed' as const) : ('accepted' as const);
          }
          throw new AppError('UNAVAILABLE', 'publish kept meeting concurrent repeats of its keys; retry');
        }),
      );
      if (outcomes.every((outcome) => outcome === 'replayed')) metrics.publishRequests.inc({ outcome: 'replayed' });
      else if (outcomes.some((outcome) => outcome !== 'accepted'))
        metrics.publishRequests.inc({ outcome: 'partly_replayed' });
      return ids;
    },

    async acceptRelayed(relayed) {
      // A peer's event is held to what a publisher here could send (RelayedEventSchema): one that
      // breaks the rules (a peer on another version, a bug) is dropped and counted, the rest of its
      // batch accepted — one bad event must neither poison totals nor stall the relay.
      const events = relayed.filter((e) => RelayedEventSchema.safeParse(e).success);
      if (events.length < relayed.length)
        metrics.relayReceived.inc({ outcome: 'invalid' }, relayed.length - events.length);
      if (events.length === 0) return { accepted: 0, duplicates: 0 };
      const items: Item[] = events.map((e) => ({
        topic: e.topic,
        type: e.type,
        data: e.data,
        ts: e.ts,
        region: e.region,
        originId: e.originId ?? e.id,
        relayKey: e.relayKey === undefined ? undefined : `${e.region}:${e.relayKey}`,
      }));
      // The log refuses a batch holding an event it already has, naming them: accept the rest.
      const counts = await Promise.all(
        shardsOf(items).map(async ({ indexes }) => {
          const skip = new Set<number>();
          for (let round = 0; round < MAX_ROUNDS; round++) {
            const result = await accept(items, indexes, skip);
            if ('accepted' in result) return { accepted: indexes.length - skip.size, duplicates: skip.size };
            if ('duplicates' in result) for (const { index } of result.duplicates) skip.add(index);
          }
          throw new AppError('UNAVAILABLE', 'relay batch kept changing under us; retry');
        }),
      );
      const accepted = counts.reduce((sum, c) => sum + c.accepted, 0);
      const duplicates = counts.reduce((sum, c) => sum + c.duplicates, 0);
      metrics.relayReceived.inc({ outcome: 'accepted' }, accepted);
      metrics.relayReceived.inc({ outcome: 'duplicate' }, duplicates);
      return { accepted, duplicates };
    },
  };
}

function groupByTopic(
  items: readonly Item[],
  indexes: readonly number[],
  skip: ReadonlySet<number>,
): Map<string, TopicGroup> {
  const groups = new Map<string, TopicGroup>();
  for (const index of indexes) {
    if (skip.has(index)) continue;
    const item = items[index] as Item;
    let group = groups.get(item.topic);
    if (!group) {
      group = { topic: item.topic, indexes: [], bodies: [] };
      groups.set(item.topic, group);
    }
    group.indexes.push(index);
    const { topic, type, data, ts, region, originId } = item;
    group.bodies.push(
      JSON.stringify(
        originId === undefined ? { topic, type, data, ts, region } : { topic, type, data, ts, region, originId },
      ),
    );
  }
  return groups;
}

function toAppend(group: TopicGroup, items: readonly Item[], relaying: boolean): TopicAppend {
  const historyBodies: Array<{ index: number; body: string }> = [];
  const dedupe: Array<{ index: number; key: string; bit: number }> = [];
  let likeDelta = 0;
  const reactionDeltas: TReactionCounts = {};
  let viewers: number | undefined;
  let status: string | undefined;
  const keys: Array<{ index: number; key: string }> = [];
  const relayKeys: Array<{ index: number; key: string }> = [];
  const relayBodies: Array<{ index: number; body: string }> = [];
  group.indexes.forEach((index, k) => {
    const item = items[index] as Item;
    if (item.key !== undefined) keys.push({ index: k, key: item.key });
    // Relayed in: its key in its region. Published here: its key goes with it to the peers.
    if (item.originId !== undefined && item.relayKey !== undefined) relayKeys.push({ index: k, key: item.relayKey });
    if (item.type === 'like') {
      // Validated at the boundary: count is a positive integer. A publisher's `total` is for its
      // own display: the log's total is the sum of counts, so a snapshot at position p holds
      // exactly the likes at or before p (totals of concurrent publishes arrive out of order).
      const like = item.data as TLikePayload;
      likeDelta += like.count;
      if (like.byReaction !== undefined && reactionSum(like.byReaction) === like.count) {
        for (const reaction of COUNTED_REACTIONS) {
          const n = like.byReaction[reaction];
          if (n) reactionDeltas[reaction] = (reactionDeltas[reaction] ?? 0) + n;
        }
      }
    } else if (item.type === 'status' && typeof item.data.status === 'string') {
      status = item.data.status.slice(0, 32);
    } else if (item.type === 'viewers' && Number.isSafeInteger(item.data.count) && (item.data.count as number) >= 0) {
      viewers = item.data.count as number;
    }
    const body = group.bodies[k] as string;
    const history = isHistoryType(item.type);
    if (history) historyBodies.push({ index: k, body });
    // A relayed body differs from the history one only by its key (kept from regional events).
    if (relaying && !isRegionalType(item.type) && (!history || item.relayKey !== undefined)) {
      relayBodies.push({
        index: k,
        body: item.relayKey === undefined ? body : `${body.slice(0, -1)},"relayKey":${JSON.stringify(item.relayKey)}}`,
      });
    }
    const origin = item.originId === undefined ? undefined : parsePositionId(item.originId);
    if (origin) dedupe.push({ index: k, ...dedupeMark(origin) });
  });
  return {
    topic: group.topic,
    count: group.indexes.length,
    history: historyBodies,
    likeDelta,
    reactionDeltas,
    status,
    viewers,
    newEpoch: newEpoch(),
    ...(dedupe.length > 0 ? { dedupe } : {}),
    ...(keys.length > 0 ? { keys } : {}),
    ...(relayKeys.length > 0 ? { relayKeys } : {}),
    ...(relayBodies.length > 0 ? { relayBodies } : {}),
  };
}
