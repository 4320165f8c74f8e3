import type { RedisClient } from '@ovation/shared/redis';
import { loadWebConfig, type WebConfig } from './config';
import { DispatcherClient } from './dispatcher';
import { RateLimits } from './rate-limit';
import { createRedisClient } from './redis-client';
import { Sessions } from './session';
import type { AccountStore } from './store/accounts';
import { MemoryAccounts } from './store/memory-accounts';
import { MemoryStore } from './store/memory-store';
import { RedisAccounts } from './store/redis-accounts';
import { RedisStore } from './store/redis-store';
import type { ProductStore, StoreOptions } from './store/store';
import { failFast } from './unavailable';

/** Everything route handlers need, built once per process from the environment. */
export interface WebContext {
  config: WebConfig;
  store: ProductStore;
  /** Accounts (passkeys): beside the product store, in the same memory or Redis. */
  accounts: AccountStore;
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
  const accounts = redis
    ? failFast(new RedisAccounts(redis.redis, config.redisPrefix), 'the account store', redis.firstConnection)
    : new MemoryAccounts();
  return {
    config,
    store,
    accounts,
    // The store keeps signed-out guest session ids, the accounts their open sessions: verify
    // refuses the rest.
    sessions: new Sessions(config.sessionSecret, config.nodeEnv === 'production', store, accounts),
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
