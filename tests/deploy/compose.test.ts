import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { Ajv } from 'ajv';
import { describe, expect, it } from 'vitest';
import { loadDispatcherConfig } from '../../apps/dispatcher/src/config.js';
import { loadRealtimeConfig } from '../../apps/realtime/src/config.js';
import { at, isRecord, type Json, list, readYaml, record, repoPath, text } from './read.js';
import {
  DEFAULT_DRAIN_MS,
  DEFAULT_PORT,
  ENV_KEYS,
  loadTierConfig,
  SECRETS,
  sampleSecrets,
  TIERS,
  type Tier,
} from './tiers.js';

/**
 * The compose-spec JSON schema, as dclint (a maintained Compose linter) ships it. Its `$schema`
 * spells draft-07's id as https without `#`, which Ajv does not know: draft-07 is Ajv's default.
 */
function composeSchema(): Json {
  const dclint = dirname(createRequire(import.meta.url).resolve('dclint/package.json'));
  const schema = record(JSON.parse(readFileSync(join(dclint, 'schemas', 'compose.schema.json'), 'utf8')), 'schema');
  if (!String(schema.$schema).includes('draft-07')) throw new Error(`compose schema is ${String(schema.$schema)}`);
  const { $schema: _, ...rest } = schema;
  return rest;
}

const validateCompose = new Ajv({ allErrors: true, strict: false }).compile(composeSchema());

/** Compose's interpolation: `${VAR}`, `${VAR:-default}`, `${VAR:?error}` (which fails when unset). */
function interpolate(value: string, env: Record<string, string>): string {
  return value.replace(/\$\{(\w+)(?::([-?])([^}]*))?\}/g, (_, name: string, op?: string, arg?: string) => {
    const set = env[name];
    if (set) return set;
    if (op === '?') throw new Error(`${name} is required: ${arg}`);
    return op === '-' ? (arg ?? '') : '';
  });
}

function durationSeconds(value: string): number {
  const match = value.match(/^(\d+)(s|m)$/);
  if (!match) throw new Error(`duration ${value}: expected <n>s or <n>m`);
  return Number(match[1]) * (match[2] === 'm' ? 60 : 1);
}

const FILES = [
  'deploy/compose/compose.yaml',
  'deploy/compose/compose.two-regions.yaml',
  'deploy/compose/compose.cluster.yaml',
];
const CLUSTER_FILE = 'deploy/compose/compose.cluster.yaml';

/** The hosts a tier's Redis variables name: REDIS_URL's, or each of REDIS_CLUSTER_NODES. */
function redisHosts(env: Record<string, string>): string[] {
  if (env.REDIS_URL) return [new URL(env.REDIS_URL).hostname];
  return (env.REDIS_CLUSTER_NODES ?? '').split(',').map((node) => node.split(':')[0] ?? '');
}

/** `--flag value` in a service's command list. */
function flag(service: Json, name: string): string | undefined {
  const args = list(service.command ?? [], 'command').map(String);
  const index = args.indexOf(name);
  return index === -1 ? undefined : args[index + 1];
}

describe.each(FILES)('%s', (file) => {
  const compose = record(readYaml(file), file);
  const services = record(compose.services, 'services');
  const tierOf = (service: Json): Tier | undefined => {
    const dockerfile = at(service, 'build', 'dockerfile');
    return TIERS.find((t) => dockerfile === `apps/${t}/Dockerfile`);
  };
  const tiered = Object.entries(services).flatMap(([name, value]) => {
    const service = record(value, name);
    const tier = tierOf(service);
    return tier ? [{ name, service, tier }] : [];
  });
  const envOf = (service: Json, secrets: Record<string, string>) =>
    Object.fromEntries(
      Object.entries(record(service.environment, 'environment')).map(([k, v]) => [k, interpolate(String(v), secrets)]),
    );

  it('is valid against the compose-spec schema', () => {
    const valid = validateCompose(compose);
    expect(validateCompose.errors ?? [], JSON.stringify(validateCompose.errors)).toEqual([]);
    expect(valid).toBe(true);
  });

  it('builds every tier from its Dockerfile, with the context at the repository root', () => {
    expect(new Set(tiered.map((s) => s.tier))).toEqual(new Set(TIERS));
    for (const { service, tier } of tiered) {
      const context = join(dirname(repoPath(file)), text(at(service, 'build', 'context'), 'build.context'));
      expect(existsSync(join(context, 'package-lock.json'))).toBe(true);
      expect(existsSync(join(context, `apps/${tier}/Dockerfile`))).toBe(true);
    }
  });

  it('refuses to start without the secrets, and passes each tier the ones it needs', () => {
    const secrets = sampleSecrets();
    for (const { name, service, tier } of tiered) {
      const environment = record(service.environment, `${name} environment`);
      for (const secret of SECRETS[tier]) {
        expect(String(environment[secret]), `${name} ${secret}`).toMatch(new RegExp(`^\\$\\{${secret}:\\?.+\\}$`));
        expect(envOf(service, secrets)[secret]).toBe(secrets[secret]);
        const { [secret]: _, ...without } = secrets;
        expect(() => envOf(service, without), `${name} without ${secret}`).toThrow(/is required/);
      }
    }
  });

  it('sets only variables the tier reads, with values its own config parser accepts', () => {
    for (const { name, service, tier } of tiered) {
      const env = envOf(service, sampleSecrets());
      expect(
        Object.keys(env).filter((key) => !ENV_KEYS[tier].has(key)),
        name,
      ).toEqual([]);
      expect(env.NODE_ENV).toBe('production');
      expect(env.HOST).toBe('0.0.0.0');
      expect(Number(env.PORT)).toBe(DEFAULT_PORT[tier]);
      expect(() => loadTierConfig(tier, env), name).not.toThrow();
      for (const port of (service.ports ?? []) as unknown[]) {
        expect(String(port).split(':').pop(), `${name} ports`).toBe(String(DEFAULT_PORT[tier]));
      }
    }
  });

  it('points every URL between services at a service of this file, in the same region', () => {
    const regionOf = (name: string) => String(envOf(record(services[name], name), sampleSecrets()).REGION ?? '');
    for (const { name, service, tier } of tiered) {
      const env = envOf(service, sampleSecrets());
      const hosts = (list: string | undefined) => (list ?? '').split(/[,|]/).map((url) => new URL(url).hostname);
      if (tier === 'realtime') {
        expect(hosts(env.PUBLIC_URL)).toEqual([name]);
        for (const host of hosts(env.DISPATCHER_URLS)) {
          expect(tierOf(record(services[host], host)), `${name} → ${host}`).toBe('dispatcher');
          expect(regionOf(host)).toBe(env.REGION);
        }
      }
      if (tier === 'web' || tier === 'dispatcher') {
        expect([env.REDIS_URL, env.REDIS_CLUSTER_NODES].filter(Boolean), `${name}: one Redis`).toHaveLength(1);
        for (const host of redisHosts(env)) {
          expect(text(at(services, host, 'image'), `${name} → ${host} image`)).toMatch(/^redis:/);
        }
      }
      if (tier === 'web') {
        for (const host of hosts(env.DISPATCHER_URLS)) expect(tierOf(record(services[host], host))).toBe('dispatcher');
      }
      if (tier === 'dispatcher') {
        for (const peer of (env.PEERS ?? '').split(',').filter(Boolean)) {
          const [region, urls] = peer.split('=');
          expect(region).not.toBe(env.REGION);
          for (const host of hosts(urls)) expect(regionOf(host), `${name} peer ${host}`).toBe(region);
        }
      }
    }
  });

  it('runs WORKERS worker processes per realtime node (REALTIME_WORKERS, default 1) on fixed internal ports', () => {
    for (const { name, service } of tiered.filter((s) => s.tier === 'realtime')) {
      expect(loadRealtimeConfig(envOf(service, sampleSecrets())).workers, name).toBe(1);
      const four = loadRealtimeConfig(envOf(service, { ...sampleSecrets(), REALTIME_WORKERS: '4' }));
      expect(four.workers, name).toBe(4);
      // Worker i is reached at PUBLIC_URL's host (this service) on INTERNAL_PORT + i.
      expect(four.internalPort, name).toBeGreaterThan(0);
      expect(new URL(four.publicUrl ?? '').hostname).toBe(name);
    }
  });

  it('lets a realtime node drain before Compose kills it', () => {
    for (const { name, service, tier } of tiered.filter((s) => s.tier === 'realtime')) {
      const drainMs = Number(envOf(service, sampleSecrets()).DRAIN_MS ?? DEFAULT_DRAIN_MS);
      expect(durationSeconds(text(service.stop_grace_period, `${name} stop_grace_period`)), tier).toBeGreaterThan(
        drainMs / 1000,
      );
    }
  });

  it('relays between the regions both ways (two regions)', () => {
    const dispatchers = tiered.filter((s) => s.tier === 'dispatcher').map((s) => envOf(s.service, sampleSecrets()));
    const regions = new Set(dispatchers.map((env) => env.REGION));
    if (!file.includes('two-regions')) {
      expect(regions.size).toBe(1);
      return;
    }
    expect(regions.size).toBe(2);
    for (const env of dispatchers) expect(env.PEERS?.split('=')[0]).not.toBe(env.REGION);
    expect(new Set(dispatchers.map((env) => env.REDIS_URL)).size).toBe(2);
    expect(isRecord(services.web)).toBe(true);
  });
});

describe(`${CLUSTER_FILE}: the Redis Cluster`, () => {
  const services = record(record(readYaml(CLUSTER_FILE), CLUSTER_FILE).services, 'services');
  const service = (name: string) => record(services[name], name);
  const env = (name: string) =>
    Object.fromEntries(
      Object.entries(record(service(name).environment ?? {}, `${name} environment`)).map(([k, v]) => [k, String(v)]),
    );
  const nodeNames = Object.keys(services).filter((name) => flag(service(name), '--cluster-enabled') === 'yes');
  const mounted = (name: string, script: string) => {
    const volume = list(service(name).volumes, `${name} volumes`)
      .map(String)
      .find((v) => v.split(':')[1] === `/scripts/${script}`);
    const source = join(dirname(repoPath(CLUSTER_FILE)), String(volume?.split(':')[0]));
    return existsSync(source) && source === repoPath(`deploy/k8s/redis-cluster/${script}`);
  };

  it('runs six Redis nodes in cluster mode through start-node.sh, each announcing its own name', () => {
    expect(nodeNames).toHaveLength(6);
    for (const name of nodeNames) {
      const node = service(name);
      expect(text(node.image, 'image')).toMatch(/^redis:/);
      expect(node.entrypoint).toEqual(['sh', '/scripts/start-node.sh']);
      expect(mounted(name, 'start-node.sh'), name).toBe(true);
      expect(flag(node, '--cluster-announce-hostname')).toBe(name);
      expect(flag(node, '--cluster-config-file')).toBe('/data/nodes.conf');
      expect(at(node, 'healthcheck', 'test')).toEqual(['CMD', 'sh', '/scripts/node-ready.sh']);
      // Restarted when it dies; start-node.sh then holds a master back until its replica took over,
      // its waits in multiples of this timeout (from the arguments: without them it would assume
      // Redis's default, 15 s).
      expect(node.restart, name).toBe('unless-stopped');
      expect(Number(flag(node, '--cluster-node-timeout')), name).toBeGreaterThan(0);
    }
  });

  it('forms the cluster once, over every node, before any service that uses it starts', () => {
    const init = service('redis-cluster-init');
    expect(init.entrypoint).toEqual(['sh', '/scripts/create-cluster.sh']);
    expect(mounted('redis-cluster-init', 'create-cluster.sh')).toBe(true);
    const nodes = env('redis-cluster-init').REDIS_NODES?.split(',') ?? [];
    expect(nodes.map((node) => node.split(':')[0]).sort()).toEqual([...nodeNames].sort());
    expect(env('redis-cluster-init').CLUSTER_REPLICAS).toBe('1');
    expect(nodes.length / 2).toBeGreaterThanOrEqual(3);
    for (const name of nodeNames) {
      expect(at(init, 'depends_on', name, 'condition'), name).toBe('service_healthy');
    }
    for (const name of ['dispatcher-1', 'dispatcher-2', 'web']) {
      expect(at(service(name), 'depends_on', 'redis-cluster-init', 'condition'), name).toBe(
        'service_completed_successfully',
      );
    }
  });

  it('gives the dispatchers and the web REDIS_CLUSTER_NODES (every node) and no REDIS_URL; a 202 waits for a replica', () => {
    for (const name of Object.keys(services)) expect(env(name).REDIS_URL, name).toBeUndefined();
    for (const name of ['dispatcher-1', 'dispatcher-2', 'web']) {
      expect(env(name).REDIS_CLUSTER_NODES, name).toBe(env('redis-cluster-init').REDIS_NODES);
    }
    for (const name of ['dispatcher-1', 'dispatcher-2']) {
      const config = loadDispatcherConfig({ ...env(name), INTERNAL_TOKEN: sampleSecrets().INTERNAL_TOKEN });
      expect(config.redis?.kind).toBe('cluster');
      expect(env(name).REDIS_WAIT_REPLICAS).toBe('1');
      expect(config.durability.waitReplicas).toBe(1);
    }
  });
});
