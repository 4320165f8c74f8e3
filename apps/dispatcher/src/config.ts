import {
  commonEnvShape,
  DEFAULT_PRESENCE_GRACE_MS,
  DEFAULT_PRESENCE_TTL_MS,
  env,
  parseEnv,
  resolveInternalToken,
} from '@ovation/shared';
import { redisTarget, redisTargetShape } from '@ovation/shared/redis';
import { z } from 'zod';
import { DEFAULT_TOPIC_LOG_LIMITS } from './topic-log/topic-log.js';

const DispatcherEnvSchema = z.object({
  ...commonEnvShape,
  PORT: env.port(4000),
  ...redisTargetShape,
  /**
   * Replicas that must have a publish before its 202 (Redis WAIT); unset: 1 on Redis Cluster (a
   * failover loses no 202), 0 on one server (it may have none).
   */
  REDIS_WAIT_REPLICAS: z.coerce.number().int().min(0).max(16).optional(),
  /** How long a publish waits for them; past it the publish answers 503 (its retry is answered again). */
  REDIS_WAIT_TIMEOUT_MS: env.positiveMs(500),
  /** Key prefix in Redis, so several stacks (and tests) can share one server. */
  REDIS_PREFIX: z
    .string()
    .regex(/^[A-Za-z0-9:_-]{1,64}$/)
    .default('ovation'),
  REGION: env.name().default('local'),
  PEERS: env.peers().optional(),
  /** Events kept per peer region while it cannot take them (the oldest are dropped beyond)… */
  RELAY_QUEUE_MAX: env.positiveInt(100_000),
  /** …and bytes (an outbox in Redis must not fill Redis while a peer is down). */
  RELAY_OUTBOX_MAX_BYTES: env.positiveInt(64 * 1024 * 1024),
  VIEWER_COUNT_INTERVAL_MS: env.positiveMs(2000),
  /** How long a realtime node stays registered without a heartbeat. */
  NODE_TTL_MS: env.positiveMs(5000),
  /** How long after a viewer's heartbeat expired they are marked left (a connection that comes back within it never is). */
  PRESENCE_GRACE_MS: env.positiveMs(DEFAULT_PRESENCE_GRACE_MS),
  /** A presence heartbeat's validity: a node killed at once has its viewers leave within this plus the grace. */
  PRESENCE_TTL_MS: env.positiveMs(DEFAULT_PRESENCE_TTL_MS),
  /** How often presence is settled and `presence` events go out (at most one per topic per interval). */
  PRESENCE_INTERVAL_MS: env.positiveMs(1000),
  /** History per topic, for resume: at least this many events (likes and viewer counts excluded)… */
  HISTORY_MAX_EVENTS: env.positiveInt(1000),
  /** …and resume points at most this old. */
  HISTORY_MAX_AGE_MS: env.positiveMs(10 * 60_000),
});

export type DispatcherConfig = ReturnType<typeof loadDispatcherConfig>;

export function loadDispatcherConfig(source: Record<string, string | undefined> = process.env) {
  const parsed = parseEnv(DispatcherEnvSchema, source);
  const redis = redisTarget(parsed);
  const peers = (parsed.PEERS ?? []).filter((p) => p.region !== parsed.REGION);
  return Object.freeze({
    host: parsed.HOST,
    port: parsed.PORT,
    logLevel: parsed.LOG_LEVEL,
    otlpEndpoint: parsed.OTEL_EXPORTER_OTLP_ENDPOINT,
    internalToken: resolveInternalToken(parsed.INTERNAL_TOKEN, parsed.NODE_ENV),
    redis,
    durability: Object.freeze({
      waitReplicas: parsed.REDIS_WAIT_REPLICAS ?? (redis?.kind === 'cluster' ? 1 : 0),
      waitTimeoutMs: parsed.REDIS_WAIT_TIMEOUT_MS,
    }),
    redisPrefix: parsed.REDIS_PREFIX,
    region: parsed.REGION,
    peers: Object.freeze(peers),
    relayQueueMax: parsed.RELAY_QUEUE_MAX,
    relayOutboxMaxBytes: parsed.RELAY_OUTBOX_MAX_BYTES,
    viewerCountIntervalMs: parsed.VIEWER_COUNT_INTERVAL_MS,
    nodeTtlMs: parsed.NODE_TTL_MS,
    presence: Object.freeze({
      graceMs: parsed.PRESENCE_GRACE_MS,
      ttlMs: parsed.PRESENCE_TTL_MS,
      intervalMs: parsed.PRESENCE_INTERVAL_MS,
      // Nodes send every member again this often: within the TTL, and within the grace, so that a
      // viewer whose tab on one node closed while another node holds them is refreshed before the
      // delayed check looks (a departure lowers the expiry whatever other nodes hold).
      refreshMs: Math.max(100, Math.floor(Math.min(parsed.PRESENCE_TTL_MS / 3, parsed.PRESENCE_GRACE_MS / 2))),
    }),
    topicLog: Object.freeze({
      maxEvents: parsed.HISTORY_MAX_EVENTS,
      maxAgeMs: parsed.HISTORY_MAX_AGE_MS,
      stateTtlMs: DEFAULT_TOPIC_LOG_LIMITS.stateTtlMs,
    }),
  });
}
