import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync } from 'node:fs';
import { collectDefaultMetrics, Registry } from 'prom-client';
import { buildApp as buildDispatcher } from '../../apps/dispatcher/src/app.js';
import { loadDispatcherConfig } from '../../apps/dispatcher/src/config.js';
import { createDispatcherMetrics } from '../../apps/dispatcher/src/metrics.js';
import { buildApp as buildRealtime } from '../../apps/realtime/src/app.js';
import { loadRealtimeConfig } from '../../apps/realtime/src/config.js';
import { createRealtimeMetrics } from '../../apps/realtime/src/metrics.js';
import { loadWebConfig } from '../../apps/web/lib/server/config.js';
import { freePort } from '../../test-support/ports.js';
import { readText, repoPath } from './read.js';

/*
 * What the deploy files must agree with, read from the services themselves: the variables each
 * tier reads, its default port, its configuration parser, the metrics it exports.
 */

export const TIERS = ['dispatcher', 'realtime', 'web'] as const;
export type Tier = (typeof TIERS)[number];

export const SECRETS: Record<Tier, readonly string[]> = {
  dispatcher: ['INTERNAL_TOKEN'],
  realtime: ['INTERNAL_TOKEN', 'CONNECT_TOKEN_SECRET'],
  web: ['INTERNAL_TOKEN', 'SESSION_SECRET', 'CONNECT_TOKEN_SECRET'],
};

/**
 * Keys of the env schemas in a source file: lines `  NAME: <schema>` (upper case, indented), and
 * inline `NAME: env.…` / `NAME: z.…` (server.mjs).
 */
function envKeys(path: string): string[] {
  const source = readText(path);
  return [
    ...source.matchAll(/^\s+([A-Z][A-Z0-9_]{2,}):\s/gm),
    ...source.matchAll(/\b([A-Z][A-Z0-9_]{2,}):\s*(?:env|z)\./g),
  ].map((m) => m[1] ?? '');
}

/** Variables of the shapes the shared package gives every tier (commonEnvShape, the Redis target…). */
const COMMON = readdirSync(repoPath('packages/shared/src'), { recursive: true, encoding: 'utf8' })
  .filter((file) => file.endsWith('.ts'))
  .flatMap((file) => envKeys(`packages/shared/src/${file}`));

/** Every variable a tier's process reads. */
export const ENV_KEYS: Record<Tier, ReadonlySet<string>> = {
  dispatcher: new Set([...COMMON, ...envKeys('apps/dispatcher/src/config.ts')]),
  realtime: new Set([...COMMON, ...envKeys('apps/realtime/src/config.ts')]),
  // The web's config, and what server.mjs reads before Next (HOST, PORT, TRUST_PROXY).
  web: new Set([...COMMON, ...envKeys('apps/web/lib/server/config.ts'), ...envKeys('apps/web/server.mjs')]),
};

/** Variables read by the runtime around a tier (Next's telemetry switch). */
export const RUNTIME_ENV_KEYS: ReadonlySet<string> = new Set(['NEXT_TELEMETRY_DISABLED']);

function webDefaultPort(): number {
  const match = readText('apps/web/server.mjs').match(/PORT:\s*env\.port\((\d+)\)/);
  if (!match?.[1]) throw new Error('apps/web/server.mjs: no PORT default found');
  return Number(match[1]);
}

export const DEFAULT_PORT: Record<Tier, number> = {
  dispatcher: loadDispatcherConfig({}).port,
  realtime: loadRealtimeConfig({}).port,
  web: webDefaultPort(),
};

/** The realtime node's DRAIN_MS when unset. */
export const DEFAULT_DRAIN_MS = loadRealtimeConfig({}).drainMs;

/** Three distinct production-grade secrets, as an operator's env file would hold. */
export function sampleSecrets(): Record<string, string> {
  return {
    INTERNAL_TOKEN: randomBytes(32).toString('hex'),
    SESSION_SECRET: randomBytes(32).toString('hex'),
    CONNECT_TOKEN_SECRET: randomBytes(32).toString('hex'),
  };
}

/** Parses `env` as the tier's process does at start; throws the ConfigError it would exit with. */
export function loadTierConfig(tier: Tier, env: Record<string, string>): void {
  if (tier === 'dispatcher') loadDispatcherConfig(env);
  else if (tier === 'realtime') loadRealtimeConfig(env);
  else loadWebConfig(env);
}

const SUFFIXES: Record<string, readonly string[]> = {
  histogram: ['_bucket', '_sum', '_count'],
  summary: ['_sum', '_count'],
};

async function seriesNames(registry: Registry): Promise<Map<string, string>> {
  const names = new Map<string, string>();
  for (const metric of await registry.getMetricsAsJSON()) {
    const type = String(metric.type);
    names.set(metric.name, type);
    for (const suffix of SUFFIXES[type] ?? []) names.set(`${metric.name}${suffix}`, type);
  }
  return names;
}

/**
 * Series names (with their metric type) that some tier's /metrics serves, plus Prometheus's own
 * `up`. The web serves prom-client's default metrics only (apps/web/app/metrics/route.ts).
 */
export async function exportedSeries(): Promise<Map<string, string>> {
  const webRoute = readText('apps/web/app/metrics/route.ts');
  if (!webRoute.includes('collectDefaultMetrics') || /new (Counter|Gauge|Histogram|Summary)\b/.test(webRoute)) {
    throw new Error('apps/web/app/metrics/route.ts changed what it exports: teach tests/deploy/tiers.ts');
  }
  const web = new Registry();
  collectDefaultMetrics({ register: web });
  const names = new Map<string, string>([['up', 'gauge']]);
  const registries = [
    createDispatcherMetrics().registry,
    createRealtimeMetrics({ connections: () => 0, subscriptions: () => 0, topics: () => 0 }).registry,
    web,
  ];
  for (const registry of registries) for (const [name, type] of await seriesNames(registry)) names.set(name, type);
  return names;
}

/**
 * The `outcome` values the dispatcher counts its publish requests under
 * (`dispatcher_publish_requests_total`), read from its source: `publishRequests.inc({ outcome: '…' })`.
 */
export function dispatcherPublishOutcomes(): Set<string> {
  const files = readdirSync(repoPath('apps/dispatcher/src'), { recursive: true, encoding: 'utf8' });
  const outcomes = files
    .filter((file) => file.endsWith('.ts'))
    .flatMap((file) => [
      ...readText(`apps/dispatcher/src/${file}`).matchAll(/publishRequests\.inc\(\{\s*outcome:\s*'(\w+)'/g),
    ])
    .map((match) => match[1] ?? '');
  return new Set(outcomes);
}

/**
 * Whether a tier serves `GET path`, and how while nothing it depends on answers. The dispatcher and
 * realtime apps are built as their processes build them, with their Redis and dispatchers on a port
 * where nothing listens, and asked in memory: the status they answer (404: no such route). The web's
 * route handlers (app/<path>/route.ts) read the process's own context, so they are only looked
 * up: 'handler' when one exports GET, 404 otherwise (apps/web/test calls them).
 */
export async function answerWithoutDependencies(tier: Tier, path: string): Promise<number | 'handler'> {
  if (tier === 'web') {
    const file = `apps/web/app${path}/route.ts`;
    if (!existsSync(repoPath(file))) return 404;
    const route = (await import(`../../${file}`)) as { GET?: unknown };
    return typeof route.GET === 'function' ? 'handler' : 404;
  }
  const nowhere = await freePort();
  const app =
    tier === 'dispatcher'
      ? await buildDispatcher(loadDispatcherConfig({ LOG_LEVEL: 'silent', REDIS_URL: `redis://127.0.0.1:${nowhere}` }))
      : await buildRealtime(
          loadRealtimeConfig({ LOG_LEVEL: 'silent', DISPATCHER_URLS: `http://127.0.0.1:${nowhere}`, DRAIN_MS: '100' }),
        );
  try {
    return (await app.inject({ method: 'GET', url: path })).statusCode;
  } finally {
    await app.close();
  }
}
