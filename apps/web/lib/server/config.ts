import {
  ConfigError,
  commonEnvShape,
  DEV_CONNECT_TOKEN_SECRET,
  DEV_SESSION_SECRET,
  env,
  MAX_LIKE_BATCH,
  parseEnv,
  resolveInternalToken,
  resolveSecret,
} from '@ovation/shared';
import { redisTarget, redisTargetShape } from '@ovation/shared/redis';
import { z } from 'zod';

/** A comma list of origins (`scheme://host[:port]`), normalised as browsers send them in `Origin`. */
const originList = () => env.urlList().transform((urls) => urls.map((u) => new URL(u).origin));

const WebEnvSchema = z.object({
  ...commonEnvShape,
  DISPATCHER_URLS: env.urlList().default(['http://127.0.0.1:4000']),
  REALTIME_URLS: env.urlList().default(['http://127.0.0.1:4100']),
  /** REDIS_URL (one server) or REDIS_CLUSTER_NODES (a cluster's seed nodes); neither: in memory. */
  ...redisTargetShape,
  REDIS_PREFIX: z
    .string()
    .regex(/^[A-Za-z0-9:_-]{1,64}$/)
    .default('ovation-web'),
  SESSION_SECRET: env.secret(32),
  /** Signs the realtime connection tokens the web hands browsers; the realtime nodes verify them. */
  CONNECT_TOKEN_SECRET: env.secret(32),
  /**
   * Like taps a user may send per second (a burst of this many, refilled every second): at least
   * MAX_LIKE_BATCH, the most taps one request carries, or a full batch would always be refused.
   */
  LIKES_PER_SECOND: env
    .positiveInt(20)
    .pipe(z.number().min(MAX_LIKE_BATCH, `must be at least ${MAX_LIKE_BATCH} (MAX_LIKE_BATCH)`)),
  /** Comments a user may post per second, sustained. */
  COMMENTS_PER_SECOND: env.positiveInt(1),
  /** The origins the app is served under; unset: the request's own Host. */
  WEB_ORIGINS: originList().optional(),
  /**
   * Origins videos' HLS playlists and segments may come from, besides the app's own; videos on
   * other origins are refused. Unset: any https origin (any http one too outside production).
   */
  HLS_ORIGINS: originList().default([]),
  /** Origins that may embed the pages in a frame; unset: none. */
  FRAME_ANCESTORS: originList().default([]),
  /**
   * The ingest service (apps/ingest): the RTMP URL broadcasters push to (shown in the studio with
   * the stream key, e.g. rtmp://live.example.com/live), and its HTTP origin, where viewers get the
   * HLS it packages. Unset: no ingest (GET /api/videos/:id/ingest answers 503).
   */
  INGEST_RTMP_URL: z.url({ protocol: /^rtmps?$/ }).optional(),
  INGEST_PUBLIC_URL: z.url({ protocol: /^https?$/ }).optional(),
});

export type WebConfig = ReturnType<typeof loadWebConfig>;

export function loadWebConfig(source: Record<string, string | undefined> = process.env) {
  const parsed = parseEnv(WebEnvSchema, source);
  const nodeEnv = parsed.NODE_ENV;
  const secrets = {
    sessionSecret: resolveSecret('SESSION_SECRET', parsed.SESSION_SECRET, nodeEnv, DEV_SESSION_SECRET),
    connectTokenSecret: resolveSecret(
      'CONNECT_TOKEN_SECRET',
      parsed.CONNECT_TOKEN_SECRET,
      nodeEnv,
      DEV_CONNECT_TOKEN_SECRET,
    ),
    internalToken: resolveInternalToken(parsed.INTERNAL_TOKEN, nodeEnv),
  };
  // One secret in two roles would let whoever holds one of them forge the other's tokens.
  if (new Set(Object.values(secrets)).size < 3) {
    throw new ConfigError(
      'CONNECT_TOKEN_SECRET',
      'SESSION_SECRET, CONNECT_TOKEN_SECRET and INTERNAL_TOKEN must all differ',
    );
  }
  return Object.freeze({
    nodeEnv,
    dispatcherUrls: Object.freeze([...parsed.DISPATCHER_URLS]),
    realtimeUrls: Object.freeze([...parsed.REALTIME_URLS]),
    /** Where the store and the rate limits live; undefined: in this process's memory. */
    redis: redisTarget(parsed),
    redisPrefix: parsed.REDIS_PREFIX,
    ...secrets,
    likesPerSecond: parsed.LIKES_PER_SECOND,
    commentsPerSecond: parsed.COMMENTS_PER_SECOND,
    webOrigins: parsed.WEB_ORIGINS ? Object.freeze([...parsed.WEB_ORIGINS]) : undefined,
    hlsOrigins: Object.freeze([...parsed.HLS_ORIGINS]),
    frameAncestors: Object.freeze([...parsed.FRAME_ANCESTORS]),
    ingestRtmpUrl: parsed.INGEST_RTMP_URL?.replace(/\/+$/, ''),
    ingestOrigin: parsed.INGEST_PUBLIC_URL ? new URL(parsed.INGEST_PUBLIC_URL).origin : undefined,
    ingestPublicUrl: parsed.INGEST_PUBLIC_URL?.replace(/\/+$/, ''),
    otlpEndpoint: parsed.OTEL_EXPORTER_OTLP_ENDPOINT,
  });
}
