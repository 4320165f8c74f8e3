import { beforeEach } from 'vitest';
import { redisForThisFile } from '../../../test-support/shared-redis.js';
import { MemoryRegistry } from '../src/registry/memory-registry.js';
import { RedisRegistry } from '../src/registry/redis-registry.js';
import type { SubscriptionRegistry } from '../src/registry/registry.js';

/*
 * The registry's drivers for its contract suites (registry-*.test.ts, one per concern): memory,
 * a real redis-server and a real Redis Cluster (3 masters, 3 replicas) — each test with its own
 * key prefix, on a clock the test moves (Redis expires keys on its own).
 */

export const a = { nodeId: 'node-a', url: 'http://127.0.0.1:1001' };
export const b = { nodeId: 'node-b', url: 'http://127.0.0.1:1002' };
export const TTL = 60_000;

/** Call at the top of a contract file: its stores start before its tests. */
export function registryDrivers(name: string): Array<[string, (now: () => number) => SubscriptionRegistry]> {
  const shared = redisForThisFile(name, { cluster: true });
  return [
    ['memory', (now) => new MemoryRegistry(now)],
    ['redis', (now) => new RedisRegistry(shared.client(), shared.prefix(), now)],
    ['redis cluster', (now) => new RedisRegistry(shared.clusterClient(), shared.prefix(), now)],
  ];
}

/** A fresh registry per test, on a clock the test can move: `clock.now += ms`. */
export function freshRegistry(make: (now: () => number) => SubscriptionRegistry): {
  registry: () => SubscriptionRegistry;
  clock: { now: number };
} {
  const clock = { now: 0 };
  let registry: SubscriptionRegistry | undefined;
  beforeEach(() => {
    clock.now = Date.now();
    registry = make(() => clock.now);
  });
  return {
    registry: () => {
      if (!registry) throw new Error('the registry exists once beforeEach has run');
      return registry;
    },
    clock,
  };
}
