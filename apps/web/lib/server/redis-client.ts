import { isCluster, openRedis, type RedisClient, type RedisTarget, redisReady } from '@ovation/shared/redis';
import { watchConnection } from '@ovation/shared/server';

/** A Redis command that takes longer than this counts as Redis being down (a paused server). */
export const REDIS_COMMAND_TIMEOUT_MS = 500;
/** How long the first requests of a process wait for the first connection. */
const FIRST_CONNECT_WAIT_MS = 1000;

/**
 * The web tier's Redis client, of one server or of a cluster (openRedis). It fails fast: while
 * disconnected a command is refused at once (no offline queue), a command Redis does not answer
 * within REDIS_COMMAND_TIMEOUT_MS fails, and nothing is retried or sent twice — the request
 * answers 503 and the user's retry (with its Idempotency-Key) comes back later. ioredis keeps
 * reconnecting in the background.
 */
export function createRedisClient(target: RedisTarget): { redis: RedisClient; firstConnection: Promise<void> } {
  const redis = openRedis(target, {
    commandTimeoutMs: REDIS_COMMAND_TIMEOUT_MS,
    maxRetriesPerRequest: 0,
    connectTimeoutMs: 1000,
  });
  // Errors surface through the commands that fail; without a listener ioredis logs each one.
  redis.on('error', () => {});
  // A connection that went silent (a partition) is made again rather than timing out forever. A
  // cluster watches its nodes itself: a dead one is dropped and the slot map read again.
  if (!isCluster(redis)) watchConnection(redis);
  return { redis, firstConnection: firstConnection(redis) };
}

/**
 * Resolves once the client can take commands (a cluster: its slot map known and every master
 * connected — a command for a master still connecting would be refused), or after
 * FIRST_CONNECT_WAIT_MS, whichever comes first; never rejects (the commands say what failed).
 */
function firstConnection(redis: RedisClient): Promise<void> {
  return new Promise<void>((resolve) => {
    const check = () => {
      if (redisReady(redis)) done();
    };
    const done = () => {
      clearTimeout(timer);
      clearInterval(poll);
      redis.off('ready', check);
      resolve();
    };
    const timer = setTimeout(done, FIRST_CONNECT_WAIT_MS);
    // A cluster's masters connect after its 'ready' (no event for the last of them): looked at
    // every few milliseconds until then. One server is ready with its 'ready'.
    const poll = setInterval(check, 10);
    redis.on('ready', check);
  });
}
