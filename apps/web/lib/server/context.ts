import { Redis } from 'ioredis';
import { loadWebConfig, type WebConfig } from './config';
import { DispatcherClient } from './dispatcher';
import { RateLimits } from './rate-limit';
import { Sessions } from './session';
import { MemoryStore } from './store/memory-store';
import { RedisStore } from './store/redis-store';
import type { ProductStore, StoreOptions } from './store/store';

/** Everything route handlers need, built once per process from the environment. */
export interface WebContext {
  config: WebConfig;
  store: ProductStore;
  sessions: Sessions;
  dispatcher: DispatcherClient;
  limits: RateLimits;
}

export function createContext(config: WebConfig, redis?: Redis, storeOptions: StoreOptions = {}): WebContext {
  return {
    config,
    store: redis ? new RedisStore(redis, config.redisPrefix, storeOptions) : new MemoryStore(storeOptions),
    sessions: new Sessions(config.sessionSecret, config.nodeEnv === 'production'),
    dispatcher: new DispatcherClient(config.dispatcherUrls, config.internalToken),
    limits: new RateLimits({
      likesPerSecond: config.likesPerSecond,
      commentsPerSecond: config.commentsPerSecond,
      prefix: config.redisPrefix,
      ...(redis ? { redis } : {}),
    }),
  };
}

// One per process; kept on globalThis so Next's module reloading in dev does not make a second.
const holder = globalThis as typeof globalThis & { __ovationWeb?: WebContext };

export function context(): WebContext {
  if (!holder.__ovationWeb) {
    const config = loadWebConfig();
    const redis = config.redisUrl ? new Redis(config.redisUrl, { maxRetriesPerRequest: 1 }) : undefined;
    redis?.on('error', () => {});
    holder.__ovationWeb = createContext(config, redis);
  }
  return holder.__ovationWeb;
}

/** For tests: route handlers use this context instead of one built from the environment. */
export function setContext(ctx: WebContext | undefined): void {
  holder.__ovationWeb = ctx;
}
