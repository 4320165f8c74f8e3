import { describe, expect, it } from 'vitest';
import { waitFor } from '../../../test-support/poll.js';
import { freshRegistry, registryDrivers } from './registry-drivers.js';

/* Other regions' viewer counts: one contract for the memory driver, one Redis server and a Redis Cluster. */

const drivers = registryDrivers('registry-regions');

describe.each(drivers)('Region counts (%s)', (_name, make) => {
  const { registry, clock } = freshRegistry(make);

  it("keeps other regions' viewer counts until they expire, a region with no viewers included", async () => {
    await registry().setRegionCounts('eu', { 'video:1': 3, 'video:2': 1 }, 60_000);
    await registry().setRegionCounts('ap', {}, 60_000);
    await registry().setRegionCounts('eu', { 'video:1': 4 }, 60_000); // replaces the previous report
    const regions = await registry().regionCounts();
    expect([...regions.keys()].sort()).toEqual(['ap', 'eu']);
    expect(Object.fromEntries(regions.get('eu') ?? [])).toEqual({ 'video:1': 4 });
    expect(regions.get('ap')?.size).toBe(0);
    expect(Object.fromEntries(await registry().regionCountsFor('video:1'))).toEqual({ eu: 4, ap: 0 });
    await registry().setRegionCounts('ap', { 'video:1': 1 }, 1);
    clock.now += 10; // the memory driver expires by this clock, Redis by its own (1 ms)
    await waitFor('the short report to expire', async () => !(await registry().regionCounts()).has('ap'));
  });
});
