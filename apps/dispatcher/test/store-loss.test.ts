import { DEFAULT_PRESENCE_GRACE_MS, DEFAULT_PRESENCE_TTL_MS } from '@ovation/shared';
import { describe, expect, it } from 'vitest';
import { waitFor } from '../../../test-support/poll.js';
import { TestRedis } from '../../../test-support/redis-server.js';
import { openRegistry } from '../src/plugins/registry.js';
import { MemoryRegistry } from '../src/registry/memory-registry.js';
import { StoreRecovery } from '../src/store-recovery.js';
import { DEFAULT_TOPIC_LOG_LIMITS } from '../src/topic-log/topic-log.js';

/*
 * After the store lost its data the nodes sync their full state again, in parts; a node with
 * 100,000 topics takes seconds. Publishes wait for it (a 202 must reach its viewers), and the
 * viewer counts published again must not all land at once (each is a resync and a snapshot read
 * for its viewers: viewer-counts.test.ts). The 100,000-topic case end to end:
 * tests/integration/many-topics.test.ts.
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

  it('wait for every node any report of the loss named: a later report never shortens the wait', async () => {
    const clock = { now: 0 };
    const registry = new MemoryRegistry(() => clock.now);
    await registry.heartbeat(node('n1'), {}, TTL_MS, 0);
    const recovery = recoveryOver(registry, clock);
    recovery.lost(['n1']);
    recovery.lost([]); // another publish met the same loss, in a dispatcher that knew no node
    expect(await recovery.recovering()).toBe(true);
    await registry.syncTopics(node('n1'), 's1', {}, true, TTL_MS);
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

describe('a Redis that restarts empty', () => {
  const open = (url: string) =>
    openRegistry({
      redis: { kind: 'server', url },
      redisPrefix: `loss-${process.pid}`,
      topicLog: DEFAULT_TOPIC_LOG_LIMITS,
      region: 'local',
      peers: [],
      relayQueueMax: 1000,
      relayOutboxMaxBytes: 1_000_000,
      presence: { ttlMs: DEFAULT_PRESENCE_TTL_MS, graceMs: DEFAULT_PRESENCE_GRACE_MS },
    });

  it('is noticed by a dispatcher that took no publish, with the nodes it knew alive', async () => {
    // The fault suite's r2 like totals (RELIABILITY.md): the dispatcher that had taken no publish
    // lately knew no live node (its table was only read for routing), or no store marker at all
    // (its first connection failed), and took the empty store as its own.
    const redis = await TestRedis.start();
    await redis.stop();
    const idle = open(redis.url); // its first connection fails: it knows no marker yet
    const busy = open(redis.url);
    const losses: string[][] = [];
    idle.onStoreLost((liveNodes) => losses.push(liveNodes));
    try {
      await redis.restart();
      await waitFor('both connected', () => idle.healthy() && busy.healthy(), { timeoutMs: 10_000 });
      await busy.registry.heartbeat(node('n1'), {}, 60_000, 0); // the node talks to the busy one
      await idle.registry.sweepExpired(); // the idle one's housekeeping round
      await redis.restart();
      await waitFor('the idle dispatcher to notice the loss', () => losses.length > 0, { timeoutMs: 10_000 });
      expect(losses).toEqual([['n1']]);
    } finally {
      await idle.close();
      await busy.close();
      await redis.stop();
    }
  });
});
