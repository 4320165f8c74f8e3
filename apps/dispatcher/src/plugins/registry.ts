import { MAX_PRESENCE_NAMES } from '@ovation/shared';
import { isCluster, openRedis, type RedisTarget, redisReady } from '@ovation/shared/redis';
import { watchConnection } from '@ovation/shared/server';
import { MemoryPresence } from '../presence/memory-presence.js';
import type { PresenceStore } from '../presence/presence-store.js';
import { RedisPresence } from '../presence/redis-presence.js';
import { MemoryRegistry } from '../registry/memory-registry.js';
import { RedisRegistry } from '../registry/redis-registry.js';
import type { SubscriptionRegistry } from '../registry/registry.js';
import { ClusterOutbox, MemoryOutbox, RedisOutbox, type RelayOutbox } from '../relay/outbox.js';
import type { Durability } from '../topic-log/confirmations.js';
import { MemoryTopicLog } from '../topic-log/memory-topic-log.js';
import { RedisTopicLog } from '../topic-log/redis-topic-log.js';
import type { TopicLog, TopicLogLimits } from '../topic-log/topic-log.js';

/** Members that leave a topic in one settle: a crashed node's 100,000 leave over ten rounds. */
const MAX_LEAVE_PER_SETTLE = 10_000;

export interface RegistryHandle {
  registry: SubscriptionRegistry;
  log: TopicLog;
  /** What waits for each peer region (relay/outbox.ts). */
  outbox: RelayOutbox;
  /** Who is watching each topic (presence/presence-store.ts). */
  presence: PresenceStore;
  kind: 'memory' | 'redis';
  /** Called when a publish finds the store lost its data, with the nodes alive before. */
  onStoreLost(listener: (liveNodes: string[]) => void): void;
  /** True when the store is reachable right now. */
  healthy(): boolean;
  close(): Promise<void>;
}

/**
 * The registry and topic log for a config: Redis (one server or a cluster) when one is given,
 * memory otherwise. Redis commands fail fast while disconnected (no offline queue), so a publish
 * during an outage answers 503 at once instead of hanging, and are never sent twice (openRedis);
 * ioredis keeps reconnecting in the background.
 */
export function openRegistry(options: {
  redis: RedisTarget | undefined;
  /** Replicas that must confirm an accept (Redis WAIT); none by default. */
  durability?: Durability;
  redisPrefix: string;
  topicLog: TopicLogLimits;
  region: string;
  /** Peer regions' names: published events wait in an outbox for each. */
  peers: readonly string[];
  relayQueueMax: number;
  relayOutboxMaxBytes: number;
  /** A peer's outbox dropped its oldest events to stay within its bounds. */
  onOutboxDropped?: (peer: string, events: number) => void;
  presence: { ttlMs: number; graceMs: number };
}): RegistryHandle {
  const presenceSettings = {
    ...options.presence,
    maxNames: MAX_PRESENCE_NAMES,
    maxLeavePerSettle: MAX_LEAVE_PER_SETTLE,
  };
  if (!options.redis) {
    const registry = new MemoryRegistry();
    const log = new MemoryTopicLog((topics) => registry.nodesFor(topics), options.topicLog);
    const outbox = new MemoryOutbox(
      options.peers,
      options.relayQueueMax,
      options.relayOutboxMaxBytes,
      options.onOutboxDropped,
    );
    const presence = new MemoryPresence(presenceSettings);
    return {
      registry,
      log,
      outbox,
      presence,
      kind: 'memory',
      onStoreLost: () => {},
      healthy: () => true,
      close: async () => {},
    };
  }
  // A command whose connection closed before its answer may have run: sent again on the next
  // connection, a publish without an Idempotency-Key would be accepted twice. It fails instead
  // (its timeout), and the publisher decides.
  const redis = openRedis(options.redis, { commandTimeoutMs: 2000, maxRetriesPerRequest: 1 });
  // Errors surface through the commands that fail; without a listener ioredis logs each one.
  redis.on('error', () => {});
  // A cluster watches each node's connection itself (a dead one is dropped and the slot map read again).
  const stopWatching = isCluster(redis) ? () => {} : watchConnection(redis);
  const registry = new RedisRegistry(redis, options.redisPrefix);
  const log = new RedisTopicLog(
    redis,
    options.redisPrefix,
    registry,
    options.topicLog,
    {
      region: options.region,
      peers: options.peers,
      maxEvents: options.relayQueueMax,
      maxBytes: options.relayOutboxMaxBytes,
    },
    options.durability,
  );
  if (options.onOutboxDropped) log.onOutboxDropped = options.onOutboxDropped;
  return {
    registry,
    log,
    outbox: isCluster(redis)
      ? new ClusterOutbox(redis, options.redisPrefix, log.confirmations)
      : new RedisOutbox(redis, options.redisPrefix, log.confirmations),
    presence: new RedisPresence(redis, options.redisPrefix, presenceSettings, log.confirmations),
    kind: 'redis',
    onStoreLost: (listener) => {
      log.onStoreLost = () => listener(registry.knownLiveNodeIds());
    },
    healthy: () => redisReady(redis),
    close: async () => {
      stopWatching();
      await redis.quit().catch(() => redis.disconnect());
    },
  };
}
