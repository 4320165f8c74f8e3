import { emptyLatencyBuckets } from '@ovation/shared';
import { beforeEach, describe, expect, it } from 'vitest';
import { waitFor } from '../../../test-support/poll.js';
import { redisForThisFile } from '../../../test-support/shared-redis.js';
import { MemoryRegistry } from '../src/registry/memory-registry.js';
import { RedisRegistry } from '../src/registry/redis-registry.js';
import type { SubscriptionRegistry } from '../src/registry/registry.js';

/*
 * One contract, two drivers: every behaviour the dispatcher relies on, checked against the
 * in-memory registry and against a real redis-server (each test with its own key prefix).
 */

const a = { nodeId: 'node-a', url: 'http://127.0.0.1:1001' };
const b = { nodeId: 'node-b', url: 'http://127.0.0.1:1002' };
const TTL = 60_000;

interface Driver {
  make(now: () => number): Promise<SubscriptionRegistry>;
}

const shared = redisForThisFile('registry-test');

const drivers: Record<string, Driver> = {
  memory: { make: async (now) => new MemoryRegistry(now) },
  redis: { make: async (now) => new RedisRegistry(shared.client(), shared.prefix(), now) },
};

describe.each(Object.entries(drivers))('SubscriptionRegistry contract (%s)', (_name, driver) => {
  let clock = 1_000_000;
  let registry: SubscriptionRegistry;
  const now = () => clock;

  beforeEach(async () => {
    clock = Date.now();
    registry = await driver.make(now);
  });

  it("keeps other regions' viewer counts until they expire, a region with no viewers included", async () => {
    await registry.setRegionCounts('eu', { 'video:1': 3, 'video:2': 1 }, 60_000);
    await registry.setRegionCounts('ap', {}, 60_000);
    await registry.setRegionCounts('eu', { 'video:1': 4 }, 60_000); // replaces the previous report
    const regions = await registry.regionCounts();
    expect([...regions.keys()].sort()).toEqual(['ap', 'eu']);
    expect(Object.fromEntries(regions.get('eu') ?? [])).toEqual({ 'video:1': 4 });
    expect(regions.get('ap')?.size).toBe(0);
    expect(Object.fromEntries(await registry.regionCountsFor('video:1'))).toEqual({ eu: 4, ap: 0 });
    await registry.setRegionCounts('ap', { 'video:1': 1 }, 1);
    clock += 10; // the memory driver expires by this clock, Redis by its own (1 ms)
    await waitFor('the short report to expire', async () => !(await registry.regionCounts()).has('ap'));
  });

  const ids = async (topic: string) =>
    ((await registry.nodesFor([topic])).get(topic) ?? []).map((n) => n.nodeId).sort();

  it('returns only the nodes subscribed to each topic', async () => {
    await registry.addTopics(a, ['t1', 't2'], TTL);
    await registry.addTopics(b, ['t2'], TTL);
    const found = await registry.nodesFor(['t1', 't2', 't3']);
    expect(found.get('t1')).toEqual([a]);
    expect(
      found
        .get('t2')
        ?.map((n) => n.nodeId)
        .sort(),
    ).toEqual(['node-a', 'node-b']);
    expect(found.has('t3')).toBe(false);
  });

  it('removes a topic from one node without touching the other', async () => {
    await registry.addTopics(a, ['t'], TTL);
    await registry.addTopics(b, ['t'], TTL);
    await registry.removeTopics('node-a', ['t']);
    expect(await ids('t')).toEqual(['node-b']);
  });

  it('takes changed counts from a heartbeat, and asks for a full sync when it lacks the state of the node', async () => {
    // A node it never saw: resync.
    expect(await registry.heartbeat(a, { kept: 3 }, TTL, 1)).toEqual({ resync: true });
    await registry.syncTopics(a, 's1', { kept: 3 }, true, TTL);
    await registry.addTopics(a, ['old'], TTL);
    expect(await registry.heartbeat(a, { kept: 4, fresh: 2 }, TTL, 3)).toEqual({ resync: false });
    expect(await registry.topicViewers(['kept'])).toEqual([4]);
    expect(await ids('fresh')).toEqual(['node-a']);
    // Only changed counts come; others stay as they were.
    expect(await registry.heartbeat(a, {}, TTL, 3)).toEqual({ resync: false });
    expect(await registry.topicViewers(['kept'])).toEqual([4]);
    // The node holds another number of topics than the registry (an update got lost): resync.
    expect(await registry.heartbeat(a, {}, TTL, 2)).toEqual({ resync: true });
  });

  it('asks a node for its full sync until one reached the store, even when a topic change made it known', async () => {
    // After a store loss, a viewer joining made the node known again with that one topic; the
    // node's other topics (and the like totals it gives back) come only with a full sync.
    await registry.addTopics(a, ['joined'], TTL);
    expect(await registry.heartbeat(a, {}, TTL, 1)).toEqual({ resync: true });
    await registry.syncTopics(a, 's1', { joined: 1 }, true, TTL);
    expect(await registry.heartbeat(a, {}, TTL, 1)).toEqual({ resync: false });
  });

  it('syncs a full state in parts: adds while it runs, the last part removes what none named', async () => {
    await registry.addTopics(a, ['stale', 'kept'], TTL);
    await registry.addTopics(b, ['stale'], TTL);
    await registry.syncTopics(a, 's1', { kept: 2, one: 1 }, false, TTL);
    // Mid-sync nothing is missing: the stale topic is still routed, the new ones already are.
    expect(await ids('stale')).toEqual(['node-a', 'node-b']);
    expect(await ids('one')).toEqual(['node-a']);
    expect(await registry.syncedNodes(['node-a', 'node-b'])).toEqual(new Set());
    await registry.syncTopics(a, 's1', { two: 5 }, false, TTL);
    await registry.syncTopics(a, 's1', {}, true, TTL);
    expect(await ids('stale')).toEqual(['node-b']);
    expect(await ids('kept')).toEqual(['node-a']);
    expect(await ids('two')).toEqual(['node-a']);
    expect(Object.fromEntries(await registry.viewerCounts())).toEqual({ kept: 2, one: 1, two: 5, stale: 0 });
    expect(await registry.syncedNodes(['node-a', 'node-b'])).toEqual(new Set(['node-a']));
    expect(await registry.heartbeat(a, {}, TTL, 3)).toEqual({ resync: false });
  });

  it('knows a node is alive until its liveness expires', async () => {
    await registry.heartbeat(a, {}, 1000, 0);
    expect(await registry.nodeAlive('node-a')).toBe(true);
    expect(await registry.nodeAlive('node-b')).toBe(false);
    clock += 1500;
    expect(await registry.nodeAlive('node-a')).toBe(false);
  });

  it('sums viewer counts over live nodes', async () => {
    await registry.heartbeat(a, { t: 3, u: 1 }, TTL, 2);
    await registry.heartbeat(b, { t: 4 }, TTL, 1);
    expect(await registry.topicViewers(['t', 'none'])).toEqual([7, 0]);
    expect(Object.fromEntries(await registry.viewerCounts())).toEqual({ t: 7, u: 1 });
  });

  it('hides a node once its liveness expires, and sweeps it with its topics', async () => {
    await registry.heartbeat(a, { t: 2 }, 1000, 1);
    await registry.heartbeat(b, { t: 5 }, 5000, 1);
    clock += 1500;
    expect(await ids('t')).toEqual(['node-b']);
    expect(await registry.topicViewers(['t'])).toEqual([5]);
    expect(await registry.sweepExpired()).toEqual(['node-a']);
    expect(await registry.sweepExpired()).toEqual([]);
    // Coming back: the registry asks for its full state.
    expect(await registry.heartbeat(a, { t: 1 }, 1000, 1)).toEqual({ resync: true });
    expect(await ids('t')).toEqual(['node-a', 'node-b']);
  });

  it('keeps a node that heartbeated after it expired but before the sweep', async () => {
    await registry.heartbeat(a, { t: 1 }, 1000, 1);
    await registry.syncTopics(a, 's1', { t: 1 }, true, 1000);
    clock += 2000;
    expect(await registry.heartbeat(a, { t: 1 }, 1000, 1)).toEqual({ resync: false });
    expect(await registry.sweepExpired()).toEqual([]);
    expect(await ids('t')).toEqual(['node-a']);
  });

  it('lets a holder give a duty up, so another takes it at once; others cannot give it up', async () => {
    expect(await registry.claimDuty('relay', 'd1', 60_000)).toBe(true);
    await registry.releaseDuty('relay', 'd2');
    expect(await registry.claimDuty('relay', 'd2', 60_000)).toBe(false);
    await registry.releaseDuty('relay', 'd1');
    expect(await registry.claimDuty('relay', 'd2', 60_000)).toBe(true);
  });

  it('in a store where no one held a duty yet, gives it at once only to the holder from before', async () => {
    const fresh = (priority: boolean) => ({ waitMs: 60_000, priority });
    expect(await registry.claimDuty('relay:eu', 'd2', 60_000, fresh(false))).toBe(false);
    expect(await registry.claimDuty('relay:eu', 'd1', 60_000, fresh(true))).toBe(true);
    expect(await registry.claimDuty('relay:eu', 'd2', 60_000, fresh(false))).toBe(false);
    // Held once in this store: when it is free again, anyone takes it at once.
    await registry.releaseDuty('relay:eu', 'd1');
    expect(await registry.claimDuty('relay:eu', 'd2', 60_000, fresh(false))).toBe(true);
  });

  it('gives a duty no one held to another claimant once the wait from its first ask has passed', async () => {
    const fresh = { waitMs: 400, priority: false };
    const firstAsk = Date.now();
    expect(await registry.claimDuty('relay:ap', 'd2', 60_000, fresh)).toBe(false);
    expect(await registry.claimDuty('relay:ap', 'd3', 60_000, fresh)).toBe(false);
    if (registry instanceof MemoryRegistry) {
      clock += 300;
      expect(await registry.claimDuty('relay:ap', 'd3', 60_000, fresh)).toBe(false);
      clock += 150;
      expect(await registry.claimDuty('relay:ap', 'd3', 60_000, fresh)).toBe(true);
    } else {
      // Redis measures the wait on its own clock.
      await waitFor('the wait to pass', () => registry.claimDuty('relay:ap', 'd3', 60_000, fresh), { timeoutMs: 5000 });
      expect(Date.now() - firstAsk).toBeGreaterThanOrEqual(350);
    }
    expect(await registry.claimDuty('relay:ap', 'd2', 60_000, fresh)).toBe(false);
  });

  it('grants a duty to one holder at a time until it lapses', async () => {
    expect(await registry.claimDuty('counts', 'd1', 1000)).toBe(true);
    expect(await registry.claimDuty('counts', 'd2', 1000)).toBe(false);
    expect(await registry.claimDuty('counts', 'd1', 1000)).toBe(true);
    if (registry instanceof MemoryRegistry) {
      clock += 1500;
      expect(await registry.claimDuty('counts', 'd2', 1000)).toBe(true);
    } else {
      // Redis expires keys on its own clock: poll until the duty lapses, and check it did not lapse early.
      const claimedAt = Date.now();
      await waitFor('the duty to lapse', () => registry.claimDuty('counts', 'd2', 1000), { timeoutMs: 5000 });
      expect(Date.now() - claimedAt).toBeGreaterThanOrEqual(900);
    }
  });

  it('sums client latency buckets per topic over the last minute only', async () => {
    const buckets = (at: number, n: number) => {
      const b = emptyLatencyBuckets();
      b[at] = n;
      return b;
    };
    const now = Date.now();
    await registry.recordLatency({ 'video:l': buckets(1, 3), 'video:other': buckets(2, 1) }, now - 90_000);
    await registry.recordLatency({ 'video:l': buckets(1, 4) }, now - 20_000);
    await registry.recordLatency({ 'video:l': buckets(3, 5) }, now);
    await registry.recordLatency({ 'video:l': buckets(3, 1) }, now);
    const total = await registry.latencyBuckets('video:l', now);
    expect(total).toEqual(Object.assign(emptyLatencyBuckets(), { 1: 4, 3: 6 }));
    expect((await registry.latencyBuckets('video:none', now)).every((n) => n === 0)).toBe(true);
  });

  it('answers ping while the store is up', async () => {
    await expect(registry.ping()).resolves.toBeUndefined();
  });
});
