import { describe, expect, it } from 'vitest';
import { waitFor } from '../../../test-support/poll.js';
import { MemoryRegistry } from '../src/registry/memory-registry.js';
import { freshRegistry, registryDrivers } from './registry-drivers.js';

/* Duty election: one contract for the memory driver, one Redis server and a Redis Cluster. */

const drivers = registryDrivers('registry-duties');

describe.each(drivers)('Duty election (%s)', (_name, make) => {
  const { registry, clock } = freshRegistry(make);

  it('lets a holder give a duty up, so another takes it at once; others cannot give it up', async () => {
    expect(await registry().claimDuty('relay', 'd1', 60_000)).toBe(true);
    await registry().releaseDuty('relay', 'd2');
    expect(await registry().claimDuty('relay', 'd2', 60_000)).toBe(false);
    await registry().releaseDuty('relay', 'd1');
    expect(await registry().claimDuty('relay', 'd2', 60_000)).toBe(true);
  });

  it('in a store where no one held a duty yet, gives it at once only to the holder from before', async () => {
    const fresh = (priority: boolean) => ({ waitMs: 60_000, priority });
    expect(await registry().claimDuty('relay:eu', 'd2', 60_000, fresh(false))).toBe(false);
    expect(await registry().claimDuty('relay:eu', 'd1', 60_000, fresh(true))).toBe(true);
    expect(await registry().claimDuty('relay:eu', 'd2', 60_000, fresh(false))).toBe(false);
    // Held once in this store: when it is free again, anyone takes it at once.
    await registry().releaseDuty('relay:eu', 'd1');
    expect(await registry().claimDuty('relay:eu', 'd2', 60_000, fresh(false))).toBe(true);
  });

  it('gives a duty no one held to another claimant once the wait from its first ask has passed', async () => {
    const fresh = { waitMs: 400, priority: false };
    const firstAsk = Date.now();
    expect(await registry().claimDuty('relay:ap', 'd2', 60_000, fresh)).toBe(false);
    expect(await registry().claimDuty('relay:ap', 'd3', 60_000, fresh)).toBe(false);
    if (registry() instanceof MemoryRegistry) {
      clock.now += 300;
      expect(await registry().claimDuty('relay:ap', 'd3', 60_000, fresh)).toBe(false);
      clock.now += 150;
      expect(await registry().claimDuty('relay:ap', 'd3', 60_000, fresh)).toBe(true);
    } else {
      // Redis measures the wait on its own clock.
      await waitFor('the wait to pass', () => registry().claimDuty('relay:ap', 'd3', 60_000, fresh), {
        timeoutMs: 5000,
      });
      expect(Date.now() - firstAsk).toBeGreaterThanOrEqual(350);
    }
    expect(await registry().claimDuty('relay:ap', 'd2', 60_000, fresh)).toBe(false);
  });

  it('grants a duty to one holder at a time until it lapses', async () => {
    expect(await registry().claimDuty('counts', 'd1', 1000)).toBe(true);
    expect(await registry().claimDuty('counts', 'd2', 1000)).toBe(false);
    expect(await registry().claimDuty('counts', 'd1', 1000)).toBe(true);
    if (registry() instanceof MemoryRegistry) {
      clock.now += 1500;
      expect(await registry().claimDuty('counts', 'd2', 1000)).toBe(true);
    } else {
      // Redis expires keys on its own clock: poll until the duty lapses, and check it did not lapse early.
      const claimedAt = Date.now();
      await waitFor('the duty to lapse', () => registry().claimDuty('counts', 'd2', 1000), { timeoutMs: 5000 });
      expect(Date.now() - claimedAt).toBeGreaterThanOrEqual(900);
    }
  });
});
