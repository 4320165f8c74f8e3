import { Redis } from 'ioredis';
import { MemoryRegistry } from '../registry/memory-registry.js';
import { RedisRegistry } from '../registry/redis-registry.js';
import type { SubscriptionRegistry } from '../registry/registry.js';

export interface RegistryHandle {
  registry: SubscriptionRegistry;
  kind: 'memory' | 'redis';
  /** True when the store is reachable right now. */
  healthy(): boolean;
  close(): Promise<void>;
}

/**
 * The registry for a config: Redis when a URL is given, memory otherwise.
 * Redis commands fail fast while disconnected (no offline queue), so a publish during an outage
 * answers 503 at once instead of hanging; ioredis keeps reconnecting in the background.
 */
export function openRegistry(options: { redisUrl: string | undefined; redisPrefix: string }): RegistryHandle {
  if (!options.redisUrl) {
    return { registry: new MemoryRegistry(), kind: 'memory', healthy: () => true, close: async () => {} };
  }
  const redis = new Redis(options.redisUrl, {
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    commandTimeout: 2000,
    retryStrategy: (attempt) => Math.min(50 * attempt, 1000),
  });
  // Errors surface through the commands that fail; without a listener ioredis logs each one.
  redis.on('error', () => {});
  return {
    registry: new RedisRegistry(redis, options.redisPrefix),
    kind: 'redis',
    healthy: () => redis.status === 'ready',
    close: async () => {
      await redis.quit().catch(() => redis.disconnect());
    },
  };
}
