import {
  ConfigError,
  commonEnvShape,
  DEV_CONNECT_TOKEN_SECRET,
  env,
  parseEnv,
  randomTag,
  resolveInternalToken,
  resolveSecret,
} from '@ovation/shared';
import { z } from 'zod';

const RealtimeEnvSchema = z.object({
  ...commonEnvShape,
  PORT: env.port(4100),
  NODE_ID: env.name().optional(),
  REGION: env.name().default('local'),
  /** How dispatchers reach this node; default http://HOST:PORT once listening. */
  PUBLIC_URL: env.url().optional(),
  DISPATCHER_URLS: env.urlList().default(['http://127.0.0.1:4000']),
  HEARTBEAT_MS: env.positiveMs(15_000),
  CORS_ORIGINS: z.string().default('http://localhost:3000,http://127.0.0.1:3000'),
  /** Liveness heartbeat (with per-topic viewer counts) to the dispatcher tier. */
  NODE_HEARTBEAT_MS: env.positiveMs(1000),
  MAX_CONNECTIONS: env.positiveInt(19_000),
  /** Bytes a connection may have waiting to be sent before it is closed as too slow. */
  MAX_BUFFERED_BYTES: env.positiveInt(256 * 1024),
  DRAIN_MS: env.positiveMs(10_000),
  /** Pause after a fan-out flush as a fraction of its duration (see fanout/scheduler.ts). */
  FLUSH_GAP_RATIO: z.coerce.number().min(0).max(4).default(0.25),
  /** How long an event that arrived before earlier ones of its topic waits for them. */
  ORDER_WAIT_MS: env.positiveMs(250),
  /** Key shared with the web tier that signs connection tokens (required in production). */
  CONNECT_TOKEN_SECRET: env.secret(32),
  /**
   * Topics a connection without a token may join (outside production, where tokens are optional):
   * names, each may end in `*`. Default every topic: without the web tier nothing is private.
   */
  PUBLIC_TOPICS: z.string().default('*'),
  /** Topics whose viewers' presence is reported (names, each may end in `*`): the videos'. */
  PRESENCE_TOPICS: z.string().default('video:*'),
  /** How often joins and departures of viewers go to the dispatcher tier (presence). */
  PRESENCE_FLUSH_MS: env.positiveMs(1000),
  /** Connections one viewer (a token's subject) may hold on this node. */
  MAX_CONNECTIONS_PER_VIEWER: env.positiveInt(10),
  /** Connections one address may hold on this node (an office behind one NAT address fits). */
  MAX_CONNECTIONS_PER_IP: env.positiveInt(1000),
  /** Refused connects (401/403) an address may make per 10 s before it is turned away unheard (429). */
  MAX_REFUSALS_PER_IP: env.positiveInt(100),
  /** Proxies whose X-Forwarded-For is believed: addresses, CIDRs, `loopback`… (none by default). */
  TRUST_PROXY: z.string().default(''),
  /**
   * Worker processes sharing PORT, each its own registered node (cluster/). 1: no cluster, one
   * process as before.
   */
  WORKERS: z.coerce.number().int().min(1).max(64).default(1),
  /**
   * With WORKERS > 1: worker i's internal listener (dispatcher deliveries, requests forwarded by
   * its peers) is on INTERNAL_PORT + i; unset, on a port the OS picks.
   */
  INTERNAL_PORT: env.port(0),
  /** Set by the primary for the worker it forks (never by hand): which worker this is. */
  REALTIME_WORKER_INDEX: z.coerce.number().int().min(0).max(63).optional(),
});

export type RealtimeConfig = ReturnType<typeof loadRealtimeConfig>;

export function loadRealtimeConfig(source: Record<string, string | undefined> = process.env) {
  const parsed = parseEnv(RealtimeEnvSchema, source);
  const baseNodeId = parsed.NODE_ID ?? `rt-${randomTag()}`;
  const workerIndex = parsed.WORKERS > 1 ? parsed.REALTIME_WORKER_INDEX : undefined;
  if (parsed.WORKERS > 1 && parsed.INTERNAL_PORT > 0 && parsed.INTERNAL_PORT + parsed.WORKERS - 1 > 65535) {
    throw new ConfigError('INTERNAL_PORT', 'INTERNAL_PORT + WORKERS - 1 must be a port (at most 65535)');
  }
  return Object.freeze({
    host: parsed.HOST,
    port: parsed.PORT,
    logLevel: parsed.LOG_LEVEL,
    otlpEndpoint: parsed.OTEL_EXPORTER_OTLP_ENDPOINT,
    internalToken: resolveInternalToken(parsed.INTERNAL_TOKEN, parsed.NODE_ENV),
    /** The machine's id: a worker's node is `<baseNodeId>-<index>`. */
    baseNodeId,
    nodeId: workerIndex === undefined ? baseNodeId : `${baseNodeId}-${workerIndex}`,
    workers: parsed.WORKERS,
    internalPort: parsed.INTERNAL_PORT,
    workerIndex,
    region: parsed.REGION,
    publicUrl: parsed.PUBLIC_URL,
    dispatcherUrls: Object.freeze([...parsed.DISPATCHER_URLS]),
    heartbeatMs: parsed.HEARTBEAT_MS,
    corsOrigins: commaList(parsed.CORS_ORIGINS),
    nodeHeartbeatMs: parsed.NODE_HEARTBEAT_MS,
    maxConnections: parsed.MAX_CONNECTIONS,
    maxBufferedBytes: parsed.MAX_BUFFERED_BYTES,
    drainMs: parsed.DRAIN_MS,
    flushGapRatio: parsed.FLUSH_GAP_RATIO,
    orderWaitMs: parsed.ORDER_WAIT_MS,
    connectTokenSecret: resolveSecret(
      'CONNECT_TOKEN_SECRET',
      parsed.CONNECT_TOKEN_SECRET,
      parsed.NODE_ENV,
      DEV_CONNECT_TOKEN_SECRET,
    ),
    /** Production: every connection needs a token. */
    requireConnectToken: parsed.NODE_ENV === 'production',
    publicTopics: commaList(parsed.PUBLIC_TOPICS),
    presenceTopics: commaList(parsed.PRESENCE_TOPICS),
    presenceFlushMs: parsed.PRESENCE_FLUSH_MS,
    maxConnectionsPerViewer: parsed.MAX_CONNECTIONS_PER_VIEWER,
    maxConnectionsPerAddress: parsed.MAX_CONNECTIONS_PER_IP,
    maxRefusalsPerAddress: parsed.MAX_REFUSALS_PER_IP,
    trustProxy: parsed.TRUST_PROXY,
  });
}

/** `a, b,,c` → `['a', 'b', 'c']`, frozen. */
function commaList(raw: string): readonly string[] {
  return Object.freeze(
    raw
      .split(',')
      .map((item) => item.trim())
      .filter((item) => item.length > 0),
  );
}
