import type { RedisClient } from '@ovation/shared/redis';
import { loadWebConfig, type WebConfig } from './config';
import { DispatcherClient } from './dispatcher';
import { RateLimits } from './rate-limit';
import { createRedisClient } from './redis-client';
import { Sessions } from './session';
import { MemoryStore } from './store/memory-store';
import { RedisStore } from './store/redis-store';
import type { ProductStore, StoreOptions } from './store/store';
import { failFast } from './unavailable';

/** Everything route handlers need, built once per process from the environment. */
export interface WebContext {
  config: WebConfig;
  store: ProductStore;
  sessions: Sessions;
  dispatcher: DispatcherClient;
  limits: RateLimits;
}

/**
 * `redis`: the Redis mode's client (createRedisClient: one server or a cluster) and its first
 * connection. In Redis mode the store and the limiter fail fast: any failure of theirs is a 503
 * UNAVAILABLE.
 */
export function createContext(
  config: WebConfig,
  redis?: { redis: RedisClient; firstConnection?: Promise<void> },
  storeOptions: StoreOptions = {},
): WebContext {
  const limits = new RateLimits({
    likesPerSecond: config.likesPerSecond,
    commentsPerSecond: config.commentsPerSecond,
    prefix: config.redisPrefix,
    ...(redis ? { redis: redis.redis } : {}),
  });
  const store = redis
    ? failFast(
        new RedisStore(redis.redis, config.redisPrefix, storeOptions),
        'the product store',
        redis.firstConnection,
      )
    : new MemoryStore(storeOptions);
  return {
    config,
    store,
    // The store keeps signed-out session ids: verify refuses them.
    sessions: new Sessions(config.sessionSecret, config.nodeEnv === 'production', store),
    dispatcher: new DispatcherClient(config.dispatcherUrls, config.internalToken),
    limits: redis ? failFast(limits, 'the rate limiter', redis.firstConnection) : limits,
  };
}

// One per process; kept on globalThis so Next's module reloading in dev does not make a second.
const holder = globalThis as typeof globalThis & { __ovationWeb?: WebContext };

export function context(): WebContext {
  if (!holder.__ovationWeb) {
    const config = loadWebConfig();
    holder.__ovationWeb = createContext(config, config.redis ? createRedisClient(config.redis) : undefined);
  }
  return holder.__ovationWeb;
}

/** For tests: route handlers use this context instead of one built from the environment. */
export function setContext(ctx: WebContext | undefined): void {
  holder.__ovationWeb = ctx;
}
