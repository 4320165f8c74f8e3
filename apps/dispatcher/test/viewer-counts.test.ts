import { AppError, type TPublishEvent } from '@ovation/shared';
import Fastify from 'fastify';
import { describe, expect, it } from 'vitest';
import type { Publisher } from '../src/fanout/publisher.js';
import { MemoryRegistry } from '../src/registry/memory-registry.js';
import { StoreRecovery } from '../src/store-recovery.js';
import { CHECK_PER_ROUND, ViewerCounter } from '../src/viewer-counts.js';

/*
 * The duty holder's rounds (ViewerCounter), against a registry in memory and a publisher standing
 * for the topic logs: `log` is the count each log holds, what its viewers were last given. Shards
 * end to end (a Redis Cluster, failovers): the fault suite's viewer counts.
 */

const node = (nodeId: string) => ({ nodeId, url: `http://127.0.0.1:1/${nodeId}` });

/**
 * A counter over `registry`. Its publisher lands every event in `log` and records the batch; while
 * `refusing` names topics, it lands the others and then fails (a shard that answered 503), as a
 * publish over several Redis Cluster masters does. `checks`: the counter reads `log` back.
 */
function counter(
  registry: MemoryRegistry,
  {
    paused = async () => false,
    checks = false,
  }: { paused?: (() => Promise<boolean>) | { value: boolean }; checks?: boolean } = {},
) {
  const log = new Map<string, number>();
  const refusing = new Set<string>();
  const published: TPublishEvent[][] = [];
  const publisher: Publisher = {
    publish: async (events) => {
      published.push([...events]);
      for (const { topic, data } of events) if (!refusing.has(topic)) log.set(topic, data.count as number);
      if (events.some(({ topic }) => refusing.has(topic))) {
        throw new AppError('UNAVAILABLE', 'not confirmed by a Redis replica in time; retry shortly');
      }
      return events.map((_, i) => String(i));
    },
    acceptRelayed: async () => ({ accepted: 0, duplicates: 0 }),
  };
  const viewerCounter = new ViewerCounter({
    registry,
    publisher,
    holderId: 'd1',
    paused: typeof paused === 'function' ? paused : async () => paused.value,
    ...(checks ? { shown: async (topics: readonly string[]) => new Map(topics.map((t) => [t, log.get(t)])) } : {}),
    intervalMs: 1000,
    log: Fastify().log,
  });
  /** One round: the events it published (those of a failed publish too). */
  const round = async () => {
    published.length = 0;
    await viewerCounter.tick();
    return published.flat();
  };
  return { viewerCounter, round, log, refusing };
}

const viewers = (topic: string, count: number) => ({ topic, type: 'viewers', data: { count } });

describe('viewer counts', () => {
  it('published in a round that failed in part are published again, so the log never keeps a passing one', async () => {
    const registry = new MemoryRegistry();
    const { round, log, refusing } = counter(registry);
    await registry.heartbeat(node('n1'), { 'video:a': 13, 'video:b': 1 }, 60_000, 2);
    await round();
    expect(log.get('video:a')).toBe(13);

    // A moment's dip (a node's or a peer region's report lapsed): video:a's shard takes 11,
    // video:b's refuses 2, and the publish fails.
    await registry.heartbeat(node('n1'), { 'video:a': 11, 'video:b': 2 }, 60_000, 2);
    refusing.add('video:b');
    await round();
    expect(log.get('video:a')).toBe(11);

    // Back to 13 before a round went through: what was last published in full is 13 too, but the
    // log holds 11, so 13 goes out again.
    refusing.clear();
    await registry.heartbeat(node('n1'), { 'video:a': 13, 'video:b': 2 }, 60_000, 2);
    expect(await round()).toEqual(expect.arrayContaining([viewers('video:a', 13), viewers('video:b', 2)]));
    expect(log.get('video:a')).toBe(13);
    expect(await round()).toEqual([]);
  });

  it('the logs do not hold are published again, 1,000 topics a round, whatever put them there', async () => {
    const registry = new MemoryRegistry();
    const topics = Array.from({ length: 2500 }, (_, i) => `video:${i}`);
    await registry.heartbeat(node('n1'), Object.fromEntries(topics.map((t) => [t, 13])), 60_000, topics.length);
    const { round, log } = counter(registry, { checks: true });
    expect(await round()).toHaveLength(2500);
    expect(await round()).toEqual([]); // every log checked holds what was published

    // Another dispatcher that held the duty before, paused past its lease, publishes what it
    // counted then, after this one's count (or a stalled Redis ran the two the other way round).
    for (const topic of topics) log.set(topic, 11);
    // A pass over the 2,500 takes 3 rounds; the one under way ends first.
    const again: TPublishEvent[][] = [];
    for (let rounds = 0; rounds < 6; rounds++) again.push(await round());
    expect(again.every((events) => events.length <= CHECK_PER_ROUND)).toBe(true);
    expect(again.flat()).toHaveLength(2500);
    expect(new Set(again.flat().map(({ topic }) => topic)).size).toBe(2500);
    expect(topics.every((topic) => log.get(topic) === 13)).toBe(true);
    expect(await round()).toEqual([]);
  });

  it('still go out when the check of the logs fails, or cannot read some of them', async () => {
    const registry = new MemoryRegistry();
    await registry.heartbeat(node('n1'), { 'video:a': 1, 'video:b': 1 }, 60_000, 2);
    const published: TPublishEvent[] = [];
    let shown: (topics: readonly string[]) => Promise<Map<string, number | undefined>> = async () => {
      throw new Error('a shard without a confirming replica');
    };
    const viewerCounter = new ViewerCounter({
      registry,
      publisher: {
        publish: async (events) => {
          published.push(...events);
          return events.map((_, i) => String(i));
        },
        acceptRelayed: async () => ({ accepted: 0, duplicates: 0 }),
      },
      holderId: 'd1',
      shown: (topics) => shown(topics),
      intervalMs: 1000,
      log: Fastify().log,
    });
    await viewerCounter.tick();
    expect(published).toHaveLength(2);

    // The check throws: the changed count still goes.
    await registry.heartbeat(node('n1'), { 'video:a': 2 }, 60_000, 2);
    published.length = 0;
    await viewerCounter.tick();
    expect(published).toEqual([viewers('video:a', 2)]);

    // A topic the check could not read (left out) is not republished on that account.
    shown = async (topics) => new Map(topics.filter((t) => t === 'video:a').map((t) => [t, 2]));
    published.length = 0;
    await viewerCounter.tick();
    expect(published).toEqual([]);
  });

  it('are not counted while the nodes sync after a store loss, then published again 2,000 a round, changed ones at once', async () => {
    const registry = new MemoryRegistry();
    const counts = Object.fromEntries(Array.from({ length: 5000 }, (_, i) => [`video:${i}`, 1]));
    await registry.heartbeat(node('n1'), counts, 60_000, 5000);
    const paused = { value: false };
    const { viewerCounter, round } = counter(registry, { paused, checks: true });
    expect(await round()).toHaveLength(5000); // a new holder of the duty publishes every count

    viewerCounter.forget();
    paused.value = true;
    expect(await round()).toHaveLength(0);
    paused.value = false;
    await registry.heartbeat(node('n1'), { 'video:4999': 2 }, 60_000, 5000);
    const first = await round();
    expect(first).toHaveLength(2001);
    expect(first).toContainEqual(viewers('video:4999', 2));
    expect(await round()).toHaveLength(2000);
    expect(await round()).toHaveLength(999);
    expect(await round()).toHaveLength(0);
  });

  it('resume once the nodes synced after a store loss, with no publish needed to notice it', async () => {
    const registry = new MemoryRegistry();
    await registry.heartbeat(node('n1'), { 'video:1': 1 }, 60_000, 1);
    const recovery = new StoreRecovery(30_000, {
      synced: (ids) => registry.syncedNodes(ids),
      alive: (id) => registry.nodeAlive(id),
    });
    const { round } = counter(registry, { paused: () => recovery.recovering() });
    recovery.lost(['n1']);
    expect(await round()).toHaveLength(0);
    await registry.syncTopics(node('n1'), 's1', { 'video:1': 1 }, true, 60_000);
    expect(await round()).toHaveLength(1);
  });
});
