import { describe, expect, it } from 'vitest';
import { a, b, freshRegistry, registryDrivers, TTL } from './registry-drivers.js';

/* Nodes and their topics: one contract for the memory driver, one Redis server and a Redis Cluster. */

const drivers = registryDrivers('registry-nodes');

describe.each(drivers)('Nodes and their topics (%s)', (_name, make) => {
  const { registry, clock } = freshRegistry(make);

  const ids = async (topic: string) =>
    ((await registry().nodesFor([topic])).get(topic) ?? []).map((n) => n.nodeId).sort();

  it('returns only the nodes subscribed to each topic', async () => {
    await registry().addTopics(a, ['t1', 't2'], TTL);
    await registry().addTopics(b, ['t2'], TTL);
    const found = await registry().nodesFor(['t1', 't2', 't3']);
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
    await registry().addTopics(a, ['t'], TTL);
    await registry().addTopics(b, ['t'], TTL);
    await registry().removeTopics('node-a', ['t']);
    expect(await ids('t')).toEqual(['node-b']);
  });

  it('takes changed counts from a heartbeat, and asks for a full sync when it lacks the state of the node', async () => {
    // A node it never saw: resync.
    expect(await registry().heartbeat(a, { kept: 3 }, TTL, 1)).toEqual({ resync: true });
    await registry().syncTopics(a, 's1', { kept: 3 }, true, TTL);
    await registry().addTopics(a, ['old'], TTL);
    expect(await registry().heartbeat(a, { kept: 4, fresh: 2 }, TTL, 3)).toEqual({ resync: false });
    expect(await registry().topicViewers(['kept'])).toEqual([4]);
    expect(await ids('fresh')).toEqual(['node-a']);
    // Only changed counts come; others stay as they were.
    expect(await registry().heartbeat(a, {}, TTL, 3)).toEqual({ resync: false });
    expect(await registry().topicViewers(['kept'])).toEqual([4]);
    // The node holds another number of topics than the registry (an update got lost): resync.
    expect(await registry().heartbeat(a, {}, TTL, 2)).toEqual({ resync: true });
  });

  it('asks a node for its full sync until one reached the store, even when a topic change made it known', async () => {
    // After a store loss, a viewer joining made the node known again with that one topic; the
    // node's other topics (and the like totals it gives back) come only with a full sync.
    await registry().addTopics(a, ['joined'], TTL);
    expect(await registry().heartbeat(a, {}, TTL, 1)).toEqual({ resync: true });
    await registry().syncTopics(a, 's1', { joined: 1 }, true, TTL);
    expect(await registry().heartbeat(a, {}, TTL, 1)).toEqual({ resync: false });
  });

  it('syncs a full state in parts: adds while it runs, the last part removes what none named', async () => {
    await registry().addTopics(a, ['stale', 'kept'], TTL);
    await registry().addTopics(b, ['stale'], TTL);
    await registry().syncTopics(a, 's1', { kept: 2, one: 1 }, false, TTL);
    // Mid-sync nothing is missing: the stale topic is still routed, the new ones already are.
    expect(await ids('stale')).toEqual(['node-a', 'node-b']);
    expect(await ids('one')).toEqual(['node-a']);
    expect(await registry().syncedNodes(['node-a', 'node-b'])).toEqual(new Set());
    await registry().syncTopics(a, 's1', { two: 5 }, false, TTL);
    await registry().syncTopics(a, 's1', {}, true, TTL);
    expect(await ids('stale')).toEqual(['node-b']);
    expect(await ids('kept')).toEqual(['node-a']);
    expect(await ids('two')).toEqual(['node-a']);
    expect(Object.fromEntries(await registry().viewerCounts())).toEqual({ kept: 2, one: 1, two: 5, stale: 0 });
    expect(await registry().syncedNodes(['node-a', 'node-b'])).toEqual(new Set(['node-a']));
    expect(await registry().heartbeat(a, {}, TTL, 3)).toEqual({ resync: false });
  });

  it('knows a node is alive until its liveness expires', async () => {
    await registry().heartbeat(a, {}, 1000, 0);
    expect(await registry().nodeAlive('node-a')).toBe(true);
    expect(await registry().nodeAlive('node-b')).toBe(false);
    clock.now += 1500;
    expect(await registry().nodeAlive('node-a')).toBe(false);
  });

  it('sums viewer counts over live nodes', async () => {
    await registry().heartbeat(a, { t: 3, u: 1 }, TTL, 2);
    await registry().heartbeat(b, { t: 4 }, TTL, 1);
    expect(await registry().topicViewers(['t', 'none'])).toEqual([7, 0]);
    expect(Object.fromEntries(await registry().viewerCounts())).toEqual({ t: 7, u: 1 });
  });

  it('hides a node once its liveness expires, and sweeps it with its topics', async () => {
    await registry().heartbeat(a, { t: 2 }, 1000, 1);
    await registry().heartbeat(b, { t: 5 }, 5000, 1);
    clock.now += 1500;
    expect(await ids('t')).toEqual(['node-b']);
    expect(await registry().topicViewers(['t'])).toEqual([5]);
    expect(await registry().sweepExpired()).toEqual(['node-a']);
    expect(await registry().sweepExpired()).toEqual([]);
    // Coming back: the registry asks for its full state.
    expect(await registry().heartbeat(a, { t: 1 }, 1000, 1)).toEqual({ resync: true });
    expect(await ids('t')).toEqual(['node-a', 'node-b']);
  });

  it('keeps a node that heartbeated after it expired but before the sweep', async () => {
    await registry().heartbeat(a, { t: 1 }, 1000, 1);
    await registry().syncTopics(a, 's1', { t: 1 }, true, 1000);
    clock.now += 2000;
    expect(await registry().heartbeat(a, { t: 1 }, 1000, 1)).toEqual({ resync: false });
    expect(await registry().sweepExpired()).toEqual([]);
    expect(await ids('t')).toEqual(['node-a']);
  });
});
