import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { Ajv } from 'ajv';
import { describe, expect, it } from 'vitest';
import { loadRealtimeConfig } from '../../apps/realtime/src/config.js';
import { at, isRecord, type Json, readYaml, record, repoPath, text } from './read.js';
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

describe.each(['deploy/compose/compose.yaml', 'deploy/compose/compose.two-regions.yaml'])('%s', (file) => {
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
      if (tier === 'web') {
        for (const host of hosts(env.DISPATCHER_URLS)) expect(tierOf(record(services[host], host))).toBe('dispatcher');
        expect(text(at(services, new URL(String(env.REDIS_URL)).hostname, 'image'), 'redis image')).toMatch(/^redis:/);
      }
      if (tier === 'dispatcher') {
        expect(text(at(services, new URL(String(env.REDIS_URL)).hostname, 'image'), 'redis image')).toMatch(/^redis:/);
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
