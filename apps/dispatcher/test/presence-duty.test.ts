import { AppError, type TPublishEvent } from '@ovation/shared';
import Fastify from 'fastify';
import { describe, expect, it } from 'vitest';
import type { Publisher } from '../src/fanout/publisher.js';
import { MemoryPresence } from '../src/presence/memory-presence.js';
import { PresenceDuty } from '../src/presence/presence-duty.js';
import { MemoryRegistry } from '../src/registry/memory-registry.js';

/*
 * The presence duty's rounds against a store in memory on a clock the test moves, and a publisher
 * standing for the topic logs: it takes each idempotency key once (as they do), and can fail a
 * publish after taking it (an accept whose answer was lost) or before.
 */

const SETTINGS = { ttlMs: 15_000, graceMs: 10_000, maxNames: 20, maxLeavePerSettle: 10_000 };

function setUp() {
  const clock = { now: Date.now() };
  const store = new MemoryPresence(SETTINGS, () => clock.now);
  const registry = new MemoryRegistry(() => clock.now);
  const taken = new Map<string, TPublishEvent>();
  const mode = { fail: 'none' as 'none' | 'before' | 'after', refusing: new Set<string>() };
  const publisher: Publisher = {
    publish: async (events) => {
      if (mode.fail === 'before') throw new AppError('UNAVAILABLE', 'store unreachable');
      // A node backed up: any publish naming one of its topics is refused whole (publisher.ts).
      if (events.some((e) => mode.refusing.has(e.topic))) throw new AppError('UNAVAILABLE', 'node backed up');
      for (const event of events) if (!taken.has(event.key ?? '')) taken.set(event.key ?? '', event);
      if (mode.fail === 'after') throw new AppError('UNAVAILABLE', 'not confirmed by a replica in time');
      return events.map((_, i) => String(i));
    },
    acceptRelayed: async () => ({ accepted: 0, duplicates: 0 }),
  };
  const duty = (holderId: string) =>
    new PresenceDuty({ store, duties: registry, publisher, holderId, intervalMs: 1000, log: Fastify().log });
  return { clock, store, taken, mode, duty };
}

describe('PresenceDuty', () => {
  it('publishes one event per changed topic per round, names capped, counts exact', async () => {
    const { store, taken, duty } = setUp();
    const members = Array.from({ length: 50 }, (_, i) => ({ id: `u-${i}`, name: `N${i}` }));
    await store.report({
      'video:a': { present: members, gone: [] },
      'video:b': { present: [{ id: 'g-1' }], gone: [] },
    });
    await duty('d1').tick();
    const events = [...taken.values()];
    expect(events.map((e) => e.topic).sort()).toEqual(['video:a', 'video:b']);
    const a = events.find((e) => e.topic === 'video:a');
    expect(a?.type).toBe('presence');
    expect(a?.data).toMatchObject({ count: 50, guests: 0, more: { joined: 30, left: 0 } });
    expect(a?.data.joined).toHaveLength(20);
    expect(events.find((e) => e.topic === 'video:b')?.data).toEqual({ joined: [], left: [], count: 0, guests: 1 });
    await duty('d1').tick();
    expect(taken.size).toBe(2);
  });

  it('gets a change to the viewers once though a publish fails after the log took it, and a new holder takes over', async () => {
    const { clock, store, taken, mode, duty } = setUp();
    await store.report({ 'video:a': { present: [{ id: 'u-ann', name: 'Ann' }], gone: [] } });
    mode.fail = 'after';
    await duty('d1').tick();
    mode.fail = 'none';
    // d1 is gone: another dispatcher takes the duty once its lease (3 intervals) has run out.
    clock.now += 3001;
    await duty('d2').tick();
    await duty('d2').tick();
    const joins = [...taken.values()].filter((e) =>
      (e.data.joined as Array<{ id: string }>).some((m) => m.id === 'u-ann'),
    );
    expect(joins).toHaveLength(1);
    // And the next change is new, not the old one again.
    await store.report({ 'video:a': { present: [], gone: ['u-ann'] } });
    clock.now += SETTINGS.graceMs + 1;
    await duty('d2').tick();
    const leaves = [...taken.values()].filter((e) =>
      (e.data.left as Array<{ id: string }>).some((m) => m.id === 'u-ann'),
    );
    expect(leaves).toHaveLength(1);
    expect(leaves[0]?.data).toMatchObject({ count: 0 });
  });

  it('keeps a change that could not be published and publishes it next round; only the holder publishes', async () => {
    const { store, taken, mode, duty } = setUp();
    await store.report({ 'video:a': { present: [{ id: 'u-bo', name: 'Bo' }], gone: [] } });
    mode.fail = 'before';
    await duty('d1').tick();
    expect(taken.size).toBe(0);
    mode.fail = 'none';
    await duty('d2').tick(); // d1 holds the duty: d2 does nothing
    expect(taken.size).toBe(0);
    await duty('d1').tick();
    expect([...taken.values()].map((e) => e.data.joined)).toEqual([[{ id: 'u-bo', name: 'Bo' }]]);
  });

  it('publishes the other topics while one topic is refused (its node backed up), and that one once it clears', async () => {
    const { store, taken, mode, duty } = setUp();
    mode.refusing.add('video:stuck');
    await store.report({
      'video:stuck': { present: [{ id: 'u-s', name: 'S' }], gone: [] },
      'video:ok': { present: [{ id: 'u-o', name: 'O' }], gone: [] },
    });
    await duty('d1').tick();
    expect([...taken.values()].map((e) => e.topic)).toEqual(['video:ok']);
    mode.refusing.clear();
    await duty('d1').tick();
    expect([...taken.values()].map((e) => e.topic).sort()).toEqual(['video:ok', 'video:stuck']);
  });
});
