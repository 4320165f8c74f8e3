import { commonEnvShape, env, parseEnv, resolveInternalToken } from '@ovation/shared';
import { z } from 'zod';

/** Used outside production when SESSION_SECRET is unset, so `npm start` works out of the box. */
const DEV_SESSION_SECRET = 'dev-session-secret-not-for-production-0123456789';

const WebEnvSchema = z.object({
  ...commonEnvShape,
  DISPATCHER_URLS: env.urlList().default(['http://127.0.0.1:4000']),
  REALTIME_URLS: env.urlList().default(['http://127.0.0.1:4100']),
  REDIS_URL: env.redisUrl().optional(),
  REDIS_PREFIX: z
    .string()
    .regex(/^[A-Za-z0-9:_-]{1,64}$/)
    .default('ovation-web'),
  SESSION_SECRET: z.string().min(32, 'must be at least 32 characters').optional(),
  /** Like taps a user may send per second (a burst of this many, refilled every second). */
  LIKES_PER_SECOND: env.positiveInt(20),
  /** Comments a user may post per second, sustained. */
  COMMENTS_PER_SECOND: env.positiveInt(1),
});

export type WebConfig = ReturnType<typeof loadWebConfig>;

export function loadWebConfig(source: Record<string, string | undefined> = process.env) {
  const parsed = parseEnv(WebEnvSchema, source);
  if (!parsed.SESSION_SECRET && parsed.NODE_ENV === 'production') {
    throw new Error('Invalid environment variable SESSION_SECRET: required when NODE_ENV=production');
  }
  return Object.freeze({
    nodeEnv: parsed.NODE_ENV,
    dispatcherUrls: Object.freeze([...parsed.DISPATCHER_URLS]),
    realtimeUrls: Object.freeze([...parsed.REALTIME_URLS]),
    redisUrl: parsed.REDIS_URL,
    redisPrefix: parsed.REDIS_PREFIX,
    sessionSecret: parsed.SESSION_SECRET ?? DEV_SESSION_SECRET,
    internalToken: resolveInternalToken(parsed.INTERNAL_TOKEN, parsed.NODE_ENV),
    likesPerSecond: parsed.LIKES_PER_SECOND,
    commentsPerSecond: parsed.COMMENTS_PER_SECOND,
  });
}
