import { AppError } from '@ovation/shared';
import type { Redis } from 'ioredis';
import { type RateLimiterAbstract, RateLimiterMemory, RateLimiterRedis, RateLimiterRes } from 'rate-limiter-flexible';
import { asUnavailable } from './unavailable';

/**
 * Per-user rate limits (rate-limiter-flexible: in memory, or in Redis so every web process shares
 * them). A refusal is a 429 with Retry-After; a limiter that cannot answer is a 503 (unavailable.ts).
 */
export class RateLimits {
  private readonly likes: RateLimiterAbstract;
  private readonly comments: RateLimiterAbstract;

  constructor(options: { likesPerSecond: number; commentsPerSecond: number; redis?: Redis; prefix: string }) {
    const make = (keyPrefix: string, points: number) =>
      options.redis
        ? new RateLimiterRedis({
            storeClient: options.redis,
            keyPrefix: `${options.prefix}:rl:${keyPrefix}`,
            points,
            duration: 1,
            // Refused at once while Redis is not connected (the request answers 503).
            rejectIfRedisNotReady: true,
          })
        : new RateLimiterMemory({ keyPrefix, points, duration: 1 });
    this.likes = make('likes', options.likesPerSecond);
    this.comments = make('comments', options.commentsPerSecond);
  }

  /** Likes cost one point per tap (a batch of `count` taps costs `count`). */
  like(userId: string, count: number): Promise<void> {
    return consume(this.likes, userId, count, 'likes');
  }

  comment(userId: string): Promise<void> {
    return consume(this.comments, userId, 1, 'comments');
  }
}

async function consume(limiter: RateLimiterAbstract, key: string, points: number, what: string): Promise<void> {
  try {
    await limiter.consume(key, points);
  } catch (error) {
    if (error instanceof RateLimiterRes) {
      throw new AppError('RATE_LIMITED', `too many ${what}; slow down`, {
        retryAfterSeconds: Math.max(1, Math.ceil(error.msBeforeNext / 1000)),
      });
    }
    throw asUnavailable('the rate limiter', error);
  }
}
