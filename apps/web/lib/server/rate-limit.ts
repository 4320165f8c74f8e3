import { AppError, env, parseEnv } from '@ovation/shared';
import type { RedisClient } from '@ovation/shared/redis';
import {
  BurstyRateLimiter,
  type RateLimiterAbstract,
  RateLimiterMemory,
  RateLimiterRedis,
  RateLimiterRes,
} from 'rate-limiter-flexible';
import { z } from 'zod';
import { asUnavailable } from './unavailable';

/*
 * Rate limits per user and per client address (rate-limiter-flexible: in memory, or in Redis so
 * every web process shares them). A refusal is a 429 with Retry-After; a limiter that cannot
 * answer is a 503 (unavailable.ts). On Redis each limiter keeps one key per user or address
 * (`<prefix>:rl:<limiter>:<key>`) and touches only it (its INCR script, or a MULTI of that key),
 * so a Redis Cluster holds them as one server does, spread over the slots (a BurstyRateLimiter's
 * burst limiter is another key, asked only when the first refuses).
 *
 * Why per address too: a guest identity costs one POST /api/session, so per-user limits alone
 * are multiplied by minting a fresh session per request. Why so much higher per address: an
 * office, school or mobile carrier puts hundreds of people behind one NAT address, and they must
 * still watch, like and comment normally. An address may like and comment at 50× one person's
 * rate (ADDRESS_FACTOR), plus one more second's worth every 10 s for the moments when many of them
 * react at once (BurstyRateLimiter): one address never does more than ~55 busy people, and 200
 * colleagues at a human pace (each commenting every few seconds, liking in short bursts) stay
 * inside it (tests/security/quotas.test.ts).
 */

/** Budgets: `points` per `seconds`. */
export interface Budget {
  points: number;
  seconds: number;
}

export interface RateLimitOptions {
  likesPerSecond: number;
  commentsPerSecond: number;
  /** One server or a cluster: every limiter key is one key, each command holds only it. */
  redis?: RedisClient;
  prefix: string;
  /** Overrides of the budgets (by default budgetsFromEnv()). */
  budgets?: Partial<typeof DEFAULT_BUDGETS>;
}

/** An address may like and comment at this many people's rate… */
export const ADDRESS_FACTOR = 50;
/** …and once every this many seconds, a second's worth more (a room reacting at once). */
export const ADDRESS_BURST_SECONDS = 10;
export const DEFAULT_BUDGETS = {
  /**
   * New sessions (and renames) per address: an office signing in one morning fits; a script
   * minting identities gets 240 an hour, and every one of them shares the address's budgets below.
   */
  sessionsPerAddress: { points: 240, seconds: 3600 },
  /** Videos a user may create a day, and an address (so fresh identities do not multiply it). */
  videosPerUser: { points: 20, seconds: 86_400 },
  videosPerAddress: { points: 100, seconds: 86_400 },
  /**
   * Connection tokens for guests (no session) per address: each names a new guest, who counts as
   * a viewer. An office of hundreds opening the page in one minute fits; a script minting viewers
   * gets 300 a minute, and the nodes hold at most MAX_CONNECTIONS_PER_IP from the address anyway.
   */
  guestTokensPerAddress: { points: 300, seconds: 60 },
  /**
   * Connection tokens per signed-in user: each reads up to 63 videos (a browser's shared
   * connection). Pages, tabs and renewals of one person stay far below it.
   */
  tokensPerUser: { points: 120, seconds: 60 },
  /**
   * Passkey ceremonies begun (sign-up, sign-in, added passkey: each keeps a challenge for 5
   * minutes) per address: a household signing in on every device fits many times over.
   */
  ceremoniesPerAddress: { points: 120, seconds: 3600 },
  /** Accounts made per address a day: a family or an office fits; a farm of handles does not. */
  accountsPerAddress: { points: 20, seconds: 86_400 },
  /**
   * Online look-ups (GET /api/presence: a dispatcher read of up to 100 accounts) per address: a
   * viewer page asks at most every few seconds while its comments change, so an office of a few
   * hundred viewers fits; a script polling in a loop is held to 50 a second.
   */
  presenceLookupsPerAddress: { points: 3000, seconds: 60 },
} satisfies Record<string, Budget>;

/*
 * The budgets that are not rates can be set from the environment (read here, once per limiter:
 * config.ts belongs to the whole web tier): a test stack that signs hundreds of users in from
 * one loopback address, or a deployment that knows its audience, sets them.
 */
const BudgetEnvSchema = z.object({
  SESSIONS_PER_HOUR_PER_ADDRESS: env.positiveInt(DEFAULT_BUDGETS.sessionsPerAddress.points),
  VIDEOS_PER_DAY_PER_USER: env.positiveInt(DEFAULT_BUDGETS.videosPerUser.points),
  VIDEOS_PER_DAY_PER_ADDRESS: env.positiveInt(DEFAULT_BUDGETS.videosPerAddress.points),
  GUEST_TOKENS_PER_MINUTE_PER_ADDRESS: env.positiveInt(DEFAULT_BUDGETS.guestTokensPerAddress.points),
  TOKENS_PER_MINUTE_PER_USER: env.positiveInt(DEFAULT_BUDGETS.tokensPerUser.points),
  CEREMONIES_PER_HOUR_PER_ADDRESS: env.positiveInt(DEFAULT_BUDGETS.ceremoniesPerAddress.points),
  ACCOUNTS_PER_DAY_PER_ADDRESS: env.positiveInt(DEFAULT_BUDGETS.accountsPerAddress.points),
  PRESENCE_LOOKUPS_PER_MINUTE_PER_ADDRESS: env.positiveInt(DEFAULT_BUDGETS.presenceLookupsPerAddress.points),
});

export function budgetsFromEnv(source: Record<string, string | undefined> = process.env): typeof DEFAULT_BUDGETS {
  const parsed = parseEnv(BudgetEnvSchema, source);
  return {
    sessionsPerAddress: { points: parsed.SESSIONS_PER_HOUR_PER_ADDRESS, seconds: 3600 },
    videosPerUser: { points: parsed.VIDEOS_PER_DAY_PER_USER, seconds: 86_400 },
    videosPerAddress: { points: parsed.VIDEOS_PER_DAY_PER_ADDRESS, seconds: 86_400 },
    guestTokensPerAddress: { points: parsed.GUEST_TOKENS_PER_MINUTE_PER_ADDRESS, seconds: 60 },
    tokensPerUser: { points: parsed.TOKENS_PER_MINUTE_PER_USER, seconds: 60 },
    ceremoniesPerAddress: { points: parsed.CEREMONIES_PER_HOUR_PER_ADDRESS, seconds: 3600 },
    accountsPerAddress: { points: parsed.ACCOUNTS_PER_DAY_PER_ADDRESS, seconds: 86_400 },
    presenceLookupsPerAddress: { points: parsed.PRESENCE_LOOKUPS_PER_MINUTE_PER_ADDRESS, seconds: 60 },
  };
}

/** Upcoming (created, not yet started) videos a user may hold at once. */
export const MAX_UPCOMING_PER_USER = 5;

/** The Retry-After of a refusal that waits on the user (start or end an upcoming video), not on time. */
const UPCOMING_RETRY_SECONDS = 60;

export class RateLimits {
  private readonly likes: RateLimiterAbstract;
  private readonly comments: RateLimiterAbstract;
  private readonly likesByAddress: Limiter;
  private readonly commentsByAddress: Limiter;
  private readonly sessionsByAddress: RateLimiterAbstract;
  private readonly videos: RateLimiterAbstract;
  private readonly videosByAddress: RateLimiterAbstract;
  private readonly guestTokensByAddress: RateLimiterAbstract;
  private readonly tokensByUser: RateLimiterAbstract;
  private readonly ceremoniesByAddress: RateLimiterAbstract;
  private readonly accountsByAddress: RateLimiterAbstract;
  private readonly presenceLookupsByAddress: RateLimiterAbstract;

  constructor(options: RateLimitOptions) {
    const budgets = { ...budgetsFromEnv(), ...options.budgets };
    const make = (keyPrefix: string, { points, seconds }: Budget) =>
      options.redis
        ? new RateLimiterRedis({
            storeClient: options.redis,
            keyPrefix: `${options.prefix}:rl:${keyPrefix}`,
            points,
            duration: seconds,
            // Refused at once while Redis is not connected (the request answers 503). A cluster is
            // 'ready' once its slot map is known; a command for a master it is not connected to is
            // refused at once too (no offline queue): also a 503.
            rejectIfRedisNotReady: true,
          })
        : new RateLimiterMemory({ keyPrefix, points, duration: seconds });
    this.likes = make('likes', { points: options.likesPerSecond, seconds: 1 });
    this.comments = make('comments', { points: options.commentsPerSecond, seconds: 1 });
    const perAddress = (keyPrefix: string, perSecond: number) =>
      new BurstyRateLimiter(
        make(keyPrefix, { points: perSecond * ADDRESS_FACTOR, seconds: 1 }),
        make(`${keyPrefix}-burst`, { points: perSecond * ADDRESS_FACTOR, seconds: ADDRESS_BURST_SECONDS }),
      );
    this.likesByAddress = perAddress('likes-ip', options.likesPerSecond);
    this.commentsByAddress = perAddress('comments-ip', options.commentsPerSecond);
    this.sessionsByAddress = make('sessions-ip', budgets.sessionsPerAddress);
    this.videos = make('videos', budgets.videosPerUser);
    this.videosByAddress = make('videos-ip', budgets.videosPerAddress);
    this.guestTokensByAddress = make('guest-tokens-ip', budgets.guestTokensPerAddress);
    this.tokensByUser = make('tokens', budgets.tokensPerUser);
    this.ceremoniesByAddress = make('ceremonies-ip', budgets.ceremoniesPerAddress);
    this.accountsByAddress = make('accounts-ip', budgets.accountsPerAddress);
    this.presenceLookupsByAddress = make('presence-ip', budgets.presenceLookupsPerAddress);
  }

  /** An online look-up (GET /api/presence). */
  presenceLookup(address: string): Promise<void> {
    return consumeForAddress(this.presenceLookupsByAddress, address, 1, 'online look-ups from your network');
  }

  /** A passkey ceremony begun (…/options). */
  ceremony(address: string): Promise<void> {
    return consumeForAddress(this.ceremoniesByAddress, address, 1, 'passkey sign-ins from your network');
  }

  /** A new account (POST /api/auth/register/verify). */
  account(address: string): Promise<void> {
    return consumeForAddress(this.accountsByAddress, address, 1, 'new accounts from your network today');
  }

  /** A connection token for a guest (GET /api/realtime-token, a page rendered without a session). */
  guestToken(address: string): Promise<void> {
    return consumeForAddress(this.guestTokensByAddress, address, 1, 'viewer connections from your network');
  }

  /** A connection token for a signed-in user. */
  userToken(userId: string): Promise<void> {
    return consume(this.tokensByUser, userId, 1, 'connection tokens');
  }

  /** Likes cost one point per tap (a batch of `count` taps costs `count`), per user and per address. */
  async like(userId: string, count: number, address: string): Promise<void> {
    await consume(this.likes, userId, count, 'likes');
    await consumeForAddress(this.likesByAddress, address, count, 'likes from your network');
  }

  async comment(userId: string, address: string): Promise<void> {
    await consume(this.comments, userId, 1, 'comments');
    await consumeForAddress(this.commentsByAddress, address, 1, 'comments from your network');
  }

  /** A new session or a rename (POST /api/session). */
  session(address: string): Promise<void> {
    return consumeForAddress(this.sessionsByAddress, address, 1, 'sign-ins from your network');
  }

  /** A new video: MAX_UPCOMING_PER_USER at once (`upcoming`: the user's now), and daily budgets. */
  async video(userId: string, address: string, upcoming: number): Promise<void> {
    if (upcoming >= MAX_UPCOMING_PER_USER) {
      throw new AppError(
        'RATE_LIMITED',
        `you have ${MAX_UPCOMING_PER_USER} upcoming videos; start or end one before creating another`,
        { retryAfterSeconds: UPCOMING_RETRY_SECONDS },
      );
    }
    await consume(this.videos, userId, 1, 'new videos today');
    await consumeForAddress(this.videosByAddress, address, 1, 'new videos from your network today');
  }
}

/**
 * 'unknown': the request did not come through the web server (unit tests calling handlers);
 * only per-user limits apply then — the server always names the address (client-address.ts).
 */
function consumeForAddress(limiter: Limiter, address: string, points: number, what: string) {
  return address === 'unknown' ? Promise.resolve() : consume(limiter, address, points, what);
}

/** A limiter or a BurstyRateLimiter (which is not a RateLimiterAbstract). */
type Limiter = Pick<RateLimiterAbstract, 'consume'>;

async function consume(limiter: Limiter, key: string, points: number, what: string): Promise<void> {
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
