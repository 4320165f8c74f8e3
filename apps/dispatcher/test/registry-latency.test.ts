import { emptyLatencyBuckets } from '@ovation/shared';
import { describe, expect, it } from 'vitest';
import { freshRegistry, registryDrivers } from './registry-drivers.js';

/* Client latency: one contract for the memory driver, one Redis server and a Redis Cluster. */

const drivers = registryDrivers('registry-latency');

describe.each(drivers)('Client latency (%s)', (_name, make) => {
  const { registry } = freshRegistry(make);

  it('sums client latency buckets per topic over the last minute only', async () => {
    const buckets = (at: number, n: number) => {
      const b = emptyLatencyBuckets();
      b[at] = n;
      return b;
    };
    const now = Date.now();
    await registry().recordLatency({ 'video:l': buckets(1, 3), 'video:other': buckets(2, 1) }, now - 90_000);
    await registry().recordLatency({ 'video:l': buckets(1, 4) }, now - 20_000);
    await registry().recordLatency({ 'video:l': buckets(3, 5) }, now);
    await registry().recordLatency({ 'video:l': buckets(3, 1) }, now);
    const total = await registry().latencyBuckets('video:l', now);
    expect(total).toEqual(Object.assign(emptyLatencyBuckets(), { 1: 4, 3: 6 }));
    expect((await registry().latencyBuckets('video:none', now)).every((n) => n === 0)).toBe(true);
  });

  it('answers ping while the store is up', async () => {
    await expect(registry().ping()).resolves.toBeUndefined();
  });
});
