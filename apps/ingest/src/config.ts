import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { commonEnvShape, env, parseEnv, resolveInternalToken } from '@ovation/shared';
import { z } from 'zod';

const IngestEnvSchema = z.object({
  ...commonEnvShape,
  /** HTTP: the HLS, /healthz, /metrics. */
  PORT: env.port(8935),
  /** Where encoders push: rtmp://<host>:<RTMP_PORT>/live/<stream key>. */
  RTMP_PORT: env.port(1935),
  /** The base URL viewers reach this service's HTTP at (the playlist URL sent to the web); default http://HOST:PORT. */
  PUBLIC_URL: env.url().optional(),
  /** The web's base URL, for its internal ingest routes (authorize, report). */
  WEB_URL: z
    .url({ protocol: /^https?$/, error: "must be the web's base URL, http(s)://…" })
    .transform((u) => u.replace(/\/+$/, '')),
  /** Session directories go under it: <HLS_DIR>/<videoId>/<sessionId>/. */
  HLS_DIR: z.string().min(1).default(join(tmpdir(), 'ovation-ingest')),
  /** The ffmpeg binary (checked with `-version` at start). */
  FFMPEG: z.string().min(1).default('ffmpeg'),
  /** A publish with no media for this long is interrupted (and ended). */
  IDLE_MS: env.positiveMs(5000),
  /**
   * A publish whose media makes no new segment for this long ends (no keyframes, frozen
   * timestamps): segments are cut at keyframes, so this bounds a segment file's size on disk.
   */
  SEGMENT_WAIT_MS: env.positiveMs(15_000),
  MAX_PUBLISHERS: env.positiveInt(20),
  /** Connections from one address that have not had a publish accepted yet. */
  MAX_CONNECTIONS_PER_ADDRESS: env.positiveInt(10),
  /** Incoming bitrate cap, averaged over 5 s; past it the publish ends. */
  MAX_BITRATE_KBPS: env.positiveInt(20_000),
});

export type IngestConfig = ReturnType<typeof loadIngestConfig>;

export function loadIngestConfig(source: Record<string, string | undefined> = process.env) {
  const parsed = parseEnv(IngestEnvSchema, source);
  return Object.freeze({
    host: parsed.HOST,
    port: parsed.PORT,
    rtmpPort: parsed.RTMP_PORT,
    publicUrl:
      parsed.PUBLIC_URL ?? `http://${parsed.HOST.includes(':') ? `[${parsed.HOST}]` : parsed.HOST}:${parsed.PORT}`,
    webUrl: parsed.WEB_URL,
    internalToken: resolveInternalToken(parsed.INTERNAL_TOKEN, parsed.NODE_ENV),
    hlsDir: resolve(parsed.HLS_DIR),
    ffmpeg: parsed.FFMPEG,
    idleMs: parsed.IDLE_MS,
    segmentWaitMs: parsed.SEGMENT_WAIT_MS,
    maxPublishers: parsed.MAX_PUBLISHERS,
    maxConnectionsPerAddress: parsed.MAX_CONNECTIONS_PER_ADDRESS,
    maxBitrateKbps: parsed.MAX_BITRATE_KBPS,
    logLevel: parsed.LOG_LEVEL,
  });
}
