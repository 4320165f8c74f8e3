import { describe, expect, it } from 'vitest';
import { waitFor } from '../../../test-support/poll.js';
import { redisForThisFile } from '../../../test-support/shared-redis.js';
import { MemoryPresence } from '../src/presence/memory-presence.js';
import type { PresenceChange, PresenceSettings, PresenceStore } from '../src/presence/presence-store.js';
import { RedisPresence } from '../src/presence/redis-presence.js';

/*
 * Presence's store: one contract for memory, one Redis server and a Redis Cluster. Redis keeps
 * time with its own clock (every dispatcher on one clock), so these tests run on real time with a
 * short TTL and grace, and poll.
 */

const shared = redisForThisFile('presence-store', { cluster: true });
const SETTINGS: PresenceSettings = { ttlMs: 1500, graceMs: 1000, maxNames: 3, maxLeavePerSettle: 10_000 };
const drivers: Array<[string, (settings: PresenceSettings) => PresenceStore]> = [
  ['memory', (settings) => new MemoryPresence(settings)],
  ['redis', (settings) => new RedisPresence(shared.client(), shared.prefix(), settings)],
  ['redis cluster', (settings) => new RedisPresence(shared.clusterClient(), shared.prefix(), settings)],
];

const T = 'video:presence';
let seq = 0;

/** Settles the topic if it is due, and publishes what it settled: the change, or undefined. */
async function settleDue(store: PresenceStore, topic = T): Promise<PresenceChange | undefined> {
  if (!(await store.dueTopics(100)).includes(topic)) return undefined;
  const change = await store.settle(topic, `s${++seq}`);
  if (change) await store.published(topic, change.seq);
  return change;
}

/** Every change settled over `ms` of real time (polling). */
async function changesOver(store: PresenceStore, ms: number): Promise<PresenceChange[]> {
  const changes: PresenceChange[] = [];
  const end = Date.now() + ms;
  while (Date.now() < end) {
    const change = await settleDue(store);
    if (change) changes.push(change);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return changes;
}

const ann = { id: 'u-ann', name: 'Ann' };
const bob = { id: 'u-bob', name: 'Bob' };

describe.each(drivers)('Presence store (%s)', (_name, make) => {
  it('announces a join once, lists accounts with since when, counts guests apart', async () => {
    const store = make(SETTINGS);
    const before = Date.now();
    await store.report({ [T]: { present: [ann, { id: 'g-1' }], gone: [] } });
    const change = await waitFor('the join to settle', () => settleDue(store));
    expect(change).toMatchObject({ joined: [ann], left: [], count: 1, guests: 1, more: { joined: 0, left: 0 } });
    // A heartbeat of members already here changes nothing.
    await store.report({ [T]: { present: [ann, { id: 'g-1' }], gone: [] } });
    expect(await changesOver(store, 300)).toEqual([]);
    const page = await store.list(T, undefined, 10);
    expect(page).toMatchObject({ count: 1, guests: 1, next: null, viewers: [{ id: ann.id, name: 'Ann' }] });
    const since = Date.parse(page.viewers[0]?.since ?? '');
    expect(since).toBeGreaterThanOrEqual(before - 1000);
    expect(since).toBeLessThanOrEqual(Date.now() + 1000);
  });

  it('never reports a member left whose connection comes back within the grace, on another node', async () => {
    const store = make(SETTINGS);
    await store.report({ [T]: { present: [ann], gone: [] } });
    await waitFor('the join', () => settleDue(store));
    const changes: PresenceChange[] = [];
    for (let i = 0; i < 4; i++) {
      await store.report({ [T]: { present: [], gone: [ann.id] } }); // node 1: the connection dropped
      // A guest arriving meanwhile makes the topic due at once: the check must still wait the grace.
      await store.report({ [T]: { present: [{ id: `g-flap-${i}` }], gone: [] } });
      changes.push(...(await changesOver(store, 300)));
      await store.report({ [T]: { present: [ann], gone: [] } }); // node 2: it came back
      changes.push(...(await changesOver(store, 200)));
    }
    expect(changes.length).toBeGreaterThan(0);
    for (const change of changes) expect(change).toMatchObject({ joined: [], left: [], count: 1 });
    expect((await store.list(T, undefined, 10)).count).toBe(1);
  });

  it('marks a member gone from their last node left after the grace, exactly once', async () => {
    const store = make(SETTINGS);
    await store.report({ [T]: { present: [ann, bob], gone: [] } });
    await waitFor('the joins', () => settleDue(store));
    const goneAt = Date.now();
    await store.report({ [T]: { present: [], gone: [ann.id] } });
    const change = await waitFor('the leave', () => settleDue(store), { timeoutMs: 5000 });
    expect(Date.now() - goneAt).toBeGreaterThanOrEqual(SETTINGS.graceMs - 50);
    expect(change).toMatchObject({ joined: [], left: [ann], count: 1, guests: 0 });
    expect(await changesOver(store, 400)).toEqual([]);
    expect((await store.list(T, undefined, 10)).viewers.map((v) => v.id)).toEqual([bob.id]);
  });

  it('marks members whose heartbeats stopped (a killed node) left within TTL + grace, not before the TTL', async () => {
    const store = make(SETTINGS);
    const lastBeat = Date.now();
    await store.report({ [T]: { present: [ann, { id: 'g-2' }], gone: [] } });
    await waitFor('the joins', () => settleDue(store));
    const early = await changesOver(store, SETTINGS.ttlMs - 300);
    expect(early).toEqual([]);
    const change = await waitFor('the leave', () => settleDue(store), { timeoutMs: 5000 });
    const after = Date.now() - lastBeat;
    expect(after).toBeGreaterThanOrEqual(SETTINGS.ttlMs + SETTINGS.graceMs - 100);
    expect(after).toBeLessThan(SETTINGS.ttlMs + SETTINGS.graceMs + 2000);
    expect(change).toMatchObject({ left: [ann], count: 0, guests: 0 });
    // Nobody is left: the topic is due no more.
    expect(await changesOver(store, 300)).toEqual([]);
    expect(await store.dueTopics(100)).not.toContain(T);
  });

  it('hands a change out again, as it was, until it is published', async () => {
    const store = make(SETTINGS);
    await store.report({ [T]: { present: [ann], gone: [] } });
    await waitFor('due', async () => (await store.dueTopics(100)).includes(T));
    const first = await store.settle(T, 'first');
    await store.report({ [T]: { present: [bob], gone: [] } });
    const again = await store.settle(T, 'second');
    expect(again).toEqual(first);
    expect(await store.dueTopics(100)).toContain(T);
    await store.published(T, 'first');
    const next = await waitFor('the next change', () => settleDue(store));
    expect(next).toMatchObject({ joined: [bob], count: 2 });
  });

  it('names at most maxNames per list and counts the rest; pages the list in id order', async () => {
    const store = make(SETTINGS);
    const members = Array.from({ length: 25 }, (_, i) => ({ id: `u-${String(i).padStart(2, '0')}`, name: `M${i}` }));
    await store.report({ [T]: { present: members, gone: [] } });
    const change = await waitFor('the joins', () => settleDue(store));
    expect(change.joined).toHaveLength(3);
    expect(change.more).toEqual({ joined: 22, left: 0 });
    expect(change.count).toBe(25);
    const seen: string[] = [];
    let cursor: string | undefined;
    for (let page = 0; page < 10; page++) {
      const { viewers, next, count } = await store.list(T, cursor, 10);
      expect(count).toBe(25);
      seen.push(...viewers.map((v) => v.id));
      if (next === null) break;
      cursor = next;
    }
    expect(seen).toEqual(members.map((m) => m.id));
  });

  it('takes concurrent reports from many nodes: every member counted once', async () => {
    const store = make(SETTINGS);
    await Promise.all(
      Array.from({ length: 60 }, (_, node) =>
        store.report({
          [T]: {
            present: Array.from({ length: 10 }, (_, i) => ({ id: `u-${(node * 7 + i) % 300}`, name: 'N' })),
            gone: [],
          },
        }),
      ),
    );
    const expected = new Set(
      Array.from({ length: 60 }, (_, node) => Array.from({ length: 10 }, (_, i) => (node * 7 + i) % 300)).flat(),
    );
    const change = await waitFor('the joins', () => settleDue(store));
    expect(change.count).toBe(expected.size);
    expect(change.more.joined + change.joined.length).toBe(expected.size);
  });

  it('says an account is online while its heartbeat is valid, plus the grace', async () => {
    const store = make(SETTINGS);
    await store.report({ [T]: { present: [ann, { id: 'g-3' }], gone: [] } });
    expect(await store.online([ann.id, bob.id, 'g-3'])).toEqual({ [ann.id]: true, [bob.id]: false, 'g-3': false });
    expect(await store.online([ann.id], T)).toEqual({ [ann.id]: true });
    expect(await store.online([ann.id], 'video:elsewhere')).toEqual({ [ann.id]: false });
    await waitFor('offline', async () => !(await store.online([ann.id]))[ann.id], { timeoutMs: 5000 });
  });
});
