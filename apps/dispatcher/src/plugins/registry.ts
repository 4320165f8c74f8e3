import { Redis } from 'ioredis';
import { MemoryRegistry } from '../registry/memory-registry.js';
import { RedisRegistry } from '../registry/redis-registry.js';
import type { SubscriptionRegistry } from '../registry/registry.js';
import { MemoryTopicLog } from '../topic-log/memory-topic-log.js';
import { RedisTopicLog } from '../topic-log/redis-topic-log.js';
import type { TopicLog, TopicLogLimits } from '../topic-log/topic-log.js';

export interface RegistryHandle {
  registry: SubscriptionRegistry;
  log: TopicLog;
  kind: 'memory' | 'redis';
  /** Called when a publish finds the store lost its data, with the nodes alive before. */
  onStoreLost(listener: (liveNodes: string[]) => void): void;
  /** True when the store is reachable right now. */
  healthy(): boolean;
  close(): Promise<void>;
}

/**
 * The registry and topic log for a config: Redis when a URL is given, memory otherwise.
 * Redis commands fail fast while disconnected (no offline queue), so a publish during an outage
 * answers 503 at once instead of hanging; ioredis keeps reconnecting in the background.
 */
export function openRegistry(options: {
  redisUrl: string | undefined;
  redisPrefix: string;
  topicLog: TopicLogLimits;
}): RegistryHandle {
  if (!options.redisUrl) {
    const registry = new MemoryRegistry();
    const log = new MemoryTopicLog((topics) => registry.nodesFor(topics), options.topicLog);
    return { registry, log, kind: 'memory', onStoreLost: () => {}, healthy: () => true, close: async () => {} };
  }
  const redis = new Redis(options.redisUrl, {
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    commandTimeout: 2000,
    retryStrategy: (attempt) => Math.min(50 * attempt, 1000),
  });
  // Errors surface through the commands that fail; without a listener ioredis logs each one.
  redis.on('error', () => {});
  const registry = new RedisRegistry(redis, options.redisPrefix);
  const log = new RedisTopicLog(redis, options.redisPrefix, registry, options.topicLog);
  return {
    registry,
    log,
    kind: 'redis',
    onStoreLost: (listener) => {
      log.onStoreLost = () => listener(registry.cachedLiveNodeIds());
    },
    healthy: () => redis.status === 'ready',
    close: async () => {
      await redis.quit().catch(() => redis.disconnect());
    },
  };
}
