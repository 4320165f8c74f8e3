import type { TPublishEvent } from '@ovation/shared';
import Fastify from 'fastify';
import { describe, expect, it } from 'vitest';
import type { Publisher } from '../src/fanout/publisher.js';
import { MemoryRegistry } from '../src/registry/memory-registry.js';
import { StoreRecovery } from '../src/store-recovery.js';
import { ViewerCounter } from '../src/viewer-counts.js';

/*
 * After the store lost its data the nodes sync their full state again, in parts; a node with
 * 100,000 topics takes seconds. Publishes wait for it (a 202 must reach its viewers), and the
 * viewer counts published again must not all land at once (each is a resync and a snapshot read
 * for its viewers). The 100,000-topic case end to end: tests/integration/many-topics.test.ts.
 */

const TTL_MS = 1000;
const node = (nodeId: string) => ({ nodeId, url: `http://127.0.0.1:1/${nodeId}` });

function recoveryOver(registry: MemoryRegistry, clock: { now: number }, maxMs = 30_000) {
  return new StoreRecovery(
    maxMs,
    { synced: (ids) => registry.syncedNodes(ids), alive: (id) => registry.nodeAlive(id) },
    () => clock.now,
  );
}

describe('publishes after a store loss', () => {
  it('wait for a node that is still sending its sync past one TTL, and go once it is synced', async () => {
    const clock = { now: 0 };
    const registry = new MemoryRegistry(() => clock.now);
    await registry.heartbeat(node('big'), {}, TTL_MS, 0);
    const recovery = recoveryOver(registry, clock);
    recovery.lost(['big']);
    for (let part = 0; part < 5; part++) {
      clock.now += 800; // each part renews the node's liveness; the sync as a whole takes 4 s
      await registry.syncTopics(node('big'), 's1', { [`video:${part}`]: 1 }, false, TTL_MS);
      expect(await recovery.recovering()).toBe(true);
    }
    await registry.syncTopics(node('big'), 's1', {}, true, TTL_MS);
    expect(await recovery.recovering()).toBe(false);
  });

  it('stop waiting for a node whose liveness lapsed, and never wait longer than the cap', async () => {
    const clock = { now: 0 };
    const registry = new MemoryRegistry(() => clock.now);
    await registry.heartbeat(node('gone'), {}, TTL_MS, 0);
    await registry.heartbeat(node('endless'), {}, TTL_MS, 0);
    const recovery = recoveryOver(registry, clock, 5000);
    recovery.lost(['gone', 'endless']);
    clock.now += TTL_MS + 1;
    await registry.heartbeat(node('endless'), {}, TTL_MS, 0);
    expect(await recovery.recovering()).toBe(true); // 'gone' no longer waited for; 'endless' is
    while (clock.now < 5000) {
      clock.now += 500;
      await registry.syncTopics(node('endless'), 's1', { 'video:x': 1 }, false, TTL_MS);
    }
    expect(await recovery.recovering()).toBe(false);
  });
});

describe('viewer counts after a store loss', () => {
  function counter(registry: MemoryRegistry, paused: { value: boolean } | (() => Promise<boolean>)) {
    const published: TPublishEvent[][] = [];
    const publisher: Publisher = {
      publish: async (events) => {
        published.push([...events]);
        return events.map((_, i) => String(i));
      },
      acceptRelayed: async () => ({ accepted: 0, duplicates: 0 }),
    };
    const viewerCounter = new ViewerCounter({
      registry,
      publisher,
      holderId: 'd1',
      paused: typeof paused === 'function' ? paused : async () => paused.value,
      intervalMs: 1000,
      log: Fastify().log,
    });
    const round = async () => {
      published.length = 0;
      await viewerCounter.tick();
      return published.flat();
    };
    return { viewerCounter, round };
  }

  it('are not counted while the nodes sync, then published again 2,000 a round, changed ones at once', async () => {
    const registry = new MemoryRegistry();
    const counts = Object.fromEntries(Array.from({ length: 5000 }, (_, i) => [`video:${i}`, 1]));
    await registry.heartbeat(node('n1'), counts, 60_000, 5000);
    const paused = { value: false };
    const { viewerCounter, round } = counter(registry, paused);
    expect(await round()).toHaveLength(5000); // a new holder of the duty publishes every count

    viewerCounter.forget();
    paused.value = true;
    expect(await round()).toHaveLength(0);
    paused.value = false;
    await registry.heartbeat(node('n1'), { 'video:4999': 2 }, 60_000, 5000);
    const first = await round();
    expect(first).toHaveLength(2001);
    expect(first).toContainEqual({ topic: 'video:4999', type: 'viewers', data: { count: 2 } });
    expect(await round()).toHaveLength(2000);
    expect(await round()).toHaveLength(999);
    expect(await round()).toHaveLength(0);
  });

  it('resume once the nodes synced, with no publish needed to notice it', async () => {
    const registry = new MemoryRegistry();
    await registry.heartbeat(node('n1'), { 'video:1': 1 }, 60_000, 1);
    const recovery = new StoreRecovery(30_000, {
      synced: (ids) => registry.syncedNodes(ids),
      alive: (id) => registry.nodeAlive(id),
    });
    const { round } = counter(registry, () => recovery.recovering());
    recovery.lost(['n1']);
    expect(await round()).toHaveLength(0);
    await registry.syncTopics(node('n1'), 's1', { 'video:1': 1 }, true, 60_000);
    expect(await round()).toHaveLength(1);
  });
});
