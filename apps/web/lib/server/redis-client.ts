import { watchConnection } from '@ovation/shared/server';
import { Redis } from 'ioredis';

/** A Redis command that takes longer than this counts as Redis being down (a paused server). */
export const REDIS_COMMAND_TIMEOUT_MS = 500;
/** How long the first requests of a process wait for the first connection. */
const FIRST_CONNECT_WAIT_MS = 1000;

/**
 * The web tier's Redis client. It fails fast: while disconnected a command is refused at once (no
 * offline queue), a command Redis does not answer within REDIS_COMMAND_TIMEOUT_MS fails, and
 * nothing is retried — the request answers 503 and the user's retry (with its Idempotency-Key)
 * comes back later. ioredis keeps reconnecting in the background.
 */
export function createRedisClient(url: string): { redis: Redis; firstConnection: Promise<void> } {
  const redis = new Redis(url, {
    enableOfflineQueue: false,
    // Never sent again on a new connection: the first may have run (see the dispatcher's client).
    autoResendUnfulfilledCommands: false,
    maxRetriesPerRequest: 0,
    commandTimeout: REDIS_COMMAND_TIMEOUT_MS,
    connectTimeout: 1000,
    retryStrategy: (attempt) => Math.min(50 * attempt, 1000),
  });
  // Errors surface through the commands that fail; without a listener ioredis logs each one.
  redis.on('error', () => {});
  // A connection that went silent (a partition) is made again rather than timing out forever.
  watchConnection(redis);
  const firstConnection = new Promise<void>((resolve) => {
    const done = () => {
      clearTimeout(timer);
      redis.off('ready', done);
      resolve();
    };
    const timer = setTimeout(done, FIRST_CONNECT_WAIT_MS);
    redis.once('ready', done);
  });
  return { redis, firstConnection };
}
