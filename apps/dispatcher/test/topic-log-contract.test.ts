import { newEpoch } from '@ovation/shared';
import { beforeEach, describe, expect, it } from 'vitest';
import { redisForThisFile } from '../../../test-support/shared-redis.js';
import { MemoryRegistry } from '../src/registry/memory-registry.js';
import { RedisRegistry } from '../src/registry/redis-registry.js';
import type { SubscriptionRegistry } from '../src/registry/registry.js';
import { MemoryTopicLog } from '../src/topic-log/memory-topic-log.js';
import { RedisTopicLog } from '../src/topic-log/redis-topic-log.js';
import {
  type AcceptRequest,
  type AcceptResult,
  dedupeMark,
  type TopicAccepted,
  type TopicAppend,
  type TopicLog,
  type TopicLogLimits,
} from '../src/topic-log/topic-log.js';

const shared = redisForThisFile('topic-log-test', { cluster: true });

const limits: TopicLogLimits = { maxEvents: 10, maxAgeMs: 60_000, stateTtlMs: 60_000 };

const drivers: Record<string, () => { log: TopicLog; registry: SubscriptionRegistry }> = {
  memory: () => {
    const registry = new MemoryRegistry();
    return { registry, log: new MemoryTopicLog((t) => registry.nodesFor(t), limits) };
  },
  redis: () => {
    const prefix = shared.prefix();
    const registry = new RedisRegistry(shared.client(), prefix);
    return { registry, log: new RedisTopicLog(shared.client(), prefix, registry, limits) };
  },
  'redis cluster': () => {
    const prefix = shared.prefix();
    const registry = new RedisRegistry(shared.clusterClient(), prefix);
    return { registry, log: new RedisTopicLog(shared.clusterClient(), prefix, registry, limits) };
  },
};

/**
 * Accepts a batch as the publisher does: one call per shard (TopicLog.shardOf; on a cluster, per
 * hash slot), results merged back in batch order — duplicates with their append's index, replayed
 * answers from every shard.
 */
async function acceptByShard(log: TopicLog, appends: TopicAppend[], request?: AcceptRequest): Promise<AcceptResult> {
  const shards = new Map<number, number[]>();
  appends.forEach((append, i) => {
    const shard = log.shardOf(append.topic);
    shards.set(shard, [...(shards.get(shard) ?? []), i]);
  });
  const results = await Promise.all(
    [...shards].map(([shard, indexes]) =>
      log.accept(
        indexes.map((i) => appends[i] as TopicAppend),
        request && { ...request, shard, order: indexes.map((i) => request.order[i] ?? []) },
      ),
    ),
  );
  const groups = [...shards.values()];
  const duplicates = results.flatMap((result, g) =>
    'duplicates' in result ? result.duplicates.map((d) => ({ ...d, append: groups[g]?.[d.append] ?? -1 })) : [],
  );
  if (duplicates.length > 0) return { duplicates };
  const replays = results.flatMap((result) => ('replay' in result ? [result.replay] : []));
  if (replays.length === results.length) {
    return { replay: (replays[0] ?? []).map((_, i) => replays.map((r) => r[i] ?? '').find((a) => a !== '') ?? '') };
  }
  const merged: TopicAccepted[] = new Array(appends.length);
  results.forEach((result, g) => {
    if (!Array.isArray(result)) throw new Error('a shard replayed while another accepted');
    (groups[g] ?? []).forEach((i, k) => {
      merged[i] = result[k] as TopicAccepted;
    });
  });
  return merged;
}

/** A topic's share of a batch: `types` in order, bodies naming their index. */
function append(topic: string, types: string[], extra: Partial<TopicAppend> = {}): TopicAppend {
  const history = types.flatMap((type, index) =>
    type === 'like' || type === 'viewers' ? [] : [{ index, body: JSON.stringify({ topic, type, n: index }) }],
  );
  return {
    topic,
    count: types.length,
    history,
    likeDelta: 0,
    reactionDeltas: {},
    status: undefined,
    newEpoch: newEpoch(),
    ...extra,
  };
}

/** A topic named after `topic` in the same shard (TopicLog.shardOf) as it. */
function sameShard(log: TopicLog, topic: string): string {
  for (let n = 0; n < 1_000_000; n++) {
    const candidate = `${topic}:${n}`;
    if (log.shardOf(candidate) === log.shardOf(topic)) return candidate;
  }
  throw new Error(`no topic beside ${topic}`);
}

/** Accepts, expecting no duplicates. */
async function accepted(log: TopicLog, appends: TopicAppend[], request?: AcceptRequest) {
  const result = await acceptByShard(log, appends, request);
  if (!Array.isArray(result)) throw new Error(`unexpected duplicates ${JSON.stringify(result)}`);
  return result;
}

describe.each(Object.entries(drivers))('TopicLog contract (%s)', (_name, make) => {
  let log: TopicLog;
  let registry: SubscriptionRegistry;
  beforeEach(() => {
    ({ log, registry } = make());
  });

  it('gives each topic consecutive positions from 1, and keeps one epoch per topic', async () => {
    const [a1, b1] = await accepted(log, [append('t:a', ['comment', 'like']), append('t:b', ['comment'])]);
    const [a2] = await accepted(log, [append('t:a', ['comment', 'comment', 'like'])]);
    expect(a1?.base).toBe(0);
    expect(b1?.base).toBe(0);
    expect(a2?.base).toBe(2);
    expect(a2?.epoch).toBe(a1?.epoch);
    expect(b1?.epoch).not.toBe(a1?.epoch);
    const read = await log.read('t:a', undefined);
    expect(read).toMatchObject({ epoch: a1?.epoch, pos: 5, events: [] });
  });

  it('returns the history after a position, oldest first, without likes or viewer counts', async () => {
    await accepted(log, [append('t:h', ['comment', 'like', 'status', 'viewers', 'comment_deleted'])]);
    await accepted(log, [append('t:h', ['comment'])]);
    const all = await log.read('t:h', 0);
    expect(all.events.map((e) => e.pos)).toEqual([1, 3, 5, 6]);
    expect(JSON.parse(all.events[1]?.body ?? '{}')).toEqual({ topic: 't:h', type: 'status', n: 2 });
    expect((await log.read('t:h', 2)).events.map((e) => e.pos)).toEqual([3, 5, 6]);
    expect((await log.read('t:h', 6)).events).toEqual([]);
    expect((await log.read('t:h', 600)).events).toEqual([]);
    // History is for resume ids of the log's own epoch only.
    expect((await log.read('t:h', 2, [all.epoch])).events.map((e) => e.pos)).toEqual([3, 5, 6]);
    expect((await log.read('t:h', 2, ['zzzz9999'])).events).toEqual([]);
  });

  it('keeps the like total (the sum of counts), the last status and the last viewer count', async () => {
    await accepted(log, [append('t:l', ['like', 'like'], { likeDelta: 3 })]);
    expect(await log.read('t:l', undefined)).toMatchObject({ likes: 3, viewers: undefined });
    await accepted(log, [append('t:l', ['like', 'viewers'], { likeDelta: 2, status: 'live', viewers: 7 })]);
    await accepted(log, [append('t:l', ['status'], { status: 'ended' })]);
    expect(await log.read('t:l', undefined)).toMatchObject({ likes: 5, status: 'ended', viewers: 7 });
  });

  it('keeps the like total per reaction: the other reactions counted, `like` the rest', async () => {
    expect(await log.read('t:r', undefined)).toMatchObject({ likes: 0, reactions: {} });
    await accepted(log, [append('t:r', ['like', 'like'], { likeDelta: 5, reactionDeltas: { love: 2, funny: 1 } })]);
    expect(await log.read('t:r', undefined)).toMatchObject({ likes: 5, reactions: { like: 2, love: 2, funny: 1 } });
    // Concurrent batches: every reaction's total is exact.
    await Promise.all(
      (['celebrate', 'support', 'love', 'insightful', 'funny'] as const).map((reaction) =>
        accepted(log, [append('t:r', ['like'], { likeDelta: 4, reactionDeltas: { [reaction]: 3 } })]),
      ),
    );
    expect((await log.read('t:r', undefined)).reactions).toEqual({
      like: 7,
      celebrate: 3,
      support: 3,
      love: 5,
      insightful: 3,
      funny: 4,
    });
    // A lost log restored from a node's report takes its reactions with its total.
    await log.restore([{ topic: 't:r-lost', likes: 9, reactions: { like: 4, love: 5 } }]);
    expect(await log.read('t:r-lost', undefined)).toMatchObject({ likes: 9, reactions: { like: 4, love: 5 } });
    await log.restore([{ topic: 't:r-lost', likes: 12, reactions: { like: 2, celebrate: 10 } }]);
    expect(await log.read('t:r-lost', undefined)).toMatchObject({ likes: 12, reactions: { like: 2, celebrate: 10 } });
    // A report from before reactions: all `like`.
    await log.restore([{ topic: 't:r-old', likes: 6 }]);
    expect(await log.read('t:r-old', undefined)).toMatchObject({ likes: 6, reactions: { like: 6 } });
  });

  it('tells the viewer count each log holds, without making a log for a topic that has none', async () => {
    await accepted(log, [append('t:v1', ['viewers'], { viewers: 13 })]);
    await accepted(log, [append('t:v2', ['comment'])]);
    expect(await log.viewerCounts(['t:v1', 't:v2', 't:v3'])).toEqual(
      new Map([
        ['t:v1', 13],
        ['t:v2', undefined],
        ['t:v3', undefined],
      ]),
    );
    // t:v3 was not made by the look: its first event starts it at position 0.
    const [first] = await accepted(log, [append('t:v3', ['comment'])]);
    expect(first?.base).toBe(0);
  });

  it('trims history to its bound and says up to where it may have lost events', async () => {
    for (let i = 0; i < 30; i++) await accepted(log, [append('t:trim', ['comment'])]);
    const read = await log.read('t:trim', 0);
    expect(read.events.length).toBeGreaterThanOrEqual(limits.maxEvents);
    expect(read.events.length).toBeLessThanOrEqual(limits.maxEvents * 1.1 + 1);
    const first = read.events[0]?.pos ?? 0;
    expect(read.trimmedThrough).toBe(first - 1);
    expect(read.events.map((e) => e.pos)).toEqual(Array.from({ length: 30 - first + 1 }, (_, i) => first + i));
  });

  it('creates the log on a first read, so a topic has a position before its first event', async () => {
    const read = await log.read('t:new', undefined);
    expect(read).toMatchObject({ pos: 0, trimmedThrough: 0, likes: 0, events: [] });
    const [first] = await accepted(log, [append('t:new', ['comment'])]);
    expect(first).toMatchObject({ epoch: read.epoch, base: 0 });
  });

  it('accepts a relayed event once: a batch holding one already accepted is refused, naming it', async () => {
    const mark = (index: number, bit: number) => ({ index, key: 'relayed:eu:abcd1234:0', bit });
    await accepted(log, [append('t:r', ['comment', 'comment'], { dedupe: [mark(0, 7), mark(1, 8)] })]);
    const again = await log.accept([
      append(sameShard(log, 't:r'), ['comment']),
      append('t:r', ['comment', 'comment', 'comment'], { dedupe: [mark(0, 8), mark(1, 9), mark(2, 7)] }),
    ]);
    expect(again).toEqual({
      duplicates: [
        { append: 1, index: 0 },
        { append: 1, index: 2 },
      ],
    });
    // Nothing of the refused batch was written.
    expect((await log.read('t:r', 0)).events.map((e) => e.pos)).toEqual([1, 2]);
    expect((await log.read('t:s', undefined)).pos).toBe(0);
    const [rest] = await accepted(log, [append('t:r', ['comment'], { dedupe: [mark(0, 9)] })]);
    expect(rest?.base).toBe(2);
  });

  it("accepts a relayed event once by its key in its region, apart from this region's publishers' keys", async () => {
    const relayKeys = [{ index: 0, key: 'eu:r:k-1:0' }];
    await accepted(log, [append('t:rk', ['comment'], { relayKeys })]);
    // The same event, accepted again in its region under new ids (its first answer was lost there).
    expect(await log.accept([append('t:rk', ['comment'], { relayKeys })])).toEqual({
      duplicates: [{ append: 0, index: 0, answer: expect.any(String) }],
    });
    // A publisher here whose own event key happens to read the same is not taken for it.
    await accepted(log, [append('t:rk', ['comment'], { keys: [{ index: 0, key: 'eu:r:k-1:0' }] })]);
  });

  it('remembers an event key with its answer: a repeat is refused, naming the first answer', async () => {
    const time = '00000000a';
    const request = { time, size: 2, order: [[0, 1]], prefilled: [] };
    const [first] = await accepted(log, [append('t:k', ['comment', 'like'], { keys: [{ index: 1, key: 'tap-1' }] })]);
    expect(first?.base).toBe(0);
    // Another topic of the same shard (on a cluster, hash slot): one call holds both.
    const beside = sameShard(log, 't:k');
    const again = await log.accept(
      [append('t:k', ['comment', 'like'], { keys: [{ index: 1, key: 'tap-1' }] }), append(beside, ['comment'])],
      request,
    );
    expect(again).toEqual({ duplicates: [{ append: 0, index: 1, answer: `:2:${first?.epoch}` }] });
    // Nothing of the refused call was written; a key of another event is free.
    expect((await log.read('t:k', undefined)).pos).toBe(2);
    expect((await log.read(beside, undefined)).pos).toBe(0);
    const [other] = await accepted(log, [append('t:k', ['like'], { keys: [{ index: 0, key: 'tap-2' }] })], request);
    expect(other?.base).toBe(2);
  });

  it('answers a used request key with the first answers in request order, accepting nothing', async () => {
    const time = '00000000b';
    // Request order: t:q event, t:p event, t:q event (grouped by topic: q gets 0 and 2, p gets 1).
    const request = { time, key: 'req-1', size: 3, order: [[0, 2], [1]], prefilled: [] };
    const [q, p] = await accepted(log, [append('t:q', ['comment', 'like']), append('t:p', ['status'])], request);
    // On a cluster t:q and t:p are apart: each slot's call finds its own record of the key.
    const repeat = await acceptByShard(log, [append('t:q', ['comment', 'like']), append('t:p', ['status'])], request);
    expect(repeat).toEqual({
      replay: [`${time}:1:${q?.epoch}`, `${time}:1:${p?.epoch}`, `${time}:2:${q?.epoch}`],
    });
    expect((await log.read('t:q', undefined)).pos).toBe(2);
    // Answers of events left out (accepted before under their own key) are kept in their place.
    const withKnown = { time, key: 'req-2', size: 2, order: [[1]], prefilled: [[0, 'known'] as const] };
    const [again] = await accepted(log, [append('t:p', ['comment'])], withKnown);
    expect(await log.accept([append('t:p', ['comment'])], withKnown)).toEqual({
      replay: ['known', `${time}:2:${again?.epoch}`],
    });
  });

  it('keeps a request key and an event key of the same name apart', async () => {
    const time = '00000000c';
    const [first] = await accepted(log, [append('t:ns', ['comment', 'comment'])], {
      time,
      key: 'same',
      size: 2,
      order: [[0, 1]],
      prefilled: [],
    });
    const second = await log.accept([append('t:ns', ['comment'], { keys: [{ index: 0, key: 'same' }] })]);
    expect(Array.isArray(second)).toBe(true);
    expect((second as Array<{ base: number }>)[0]?.base).toBe((first?.base ?? 0) + 2);
    await accepted(log, [append('t:ns', ['comment'], { keys: [{ index: 0, key: 'event-first' }] })]);
    const request = { time, key: 'event-first', size: 1, order: [[0]], prefilled: [] };
    expect(Array.isArray(await log.accept([append('t:ns', ['comment'])], request))).toBe(true);
    expect((await log.read('t:ns', undefined)).pos).toBe(5);
  });

  it('restores the state nodes report into a log that lost it, never into one that took events since', async () => {
    await log.restore([
      { topic: 't:gone', likes: 41, status: 'live', viewers: 12 },
      { topic: 't:read', likes: 7 },
    ]);
    expect(await log.read('t:gone', undefined)).toMatchObject({ pos: 0, likes: 41, status: 'live', viewers: 12 });
    // A log made by a read (no event yet) takes the higher total under a new epoch: whoever read
    // 0 likes at position 0 (a viewer joining before the nodes synced) resyncs. A report that
    // changes nothing keeps the epoch.
    const made = await log.read('t:fresh', undefined);
    expect(made).toMatchObject({ pos: 0, likes: 0 });
    await log.restore([{ topic: 't:fresh', likes: 5, status: 'ended' }]);
    const restored = await log.read('t:fresh', undefined);
    expect(restored).toMatchObject({ pos: 0, likes: 5, status: 'ended' });
    expect(restored.epoch).not.toBe(made.epoch);
    await log.restore([{ topic: 't:fresh', likes: 3 }]);
    await log.restore([{ topic: 't:fresh', likes: 5, status: 'live' }]);
    expect(await log.read('t:fresh', undefined)).toMatchObject({ epoch: restored.epoch, likes: 5, status: 'ended' });
    // Events accepted since: the log's own state is newer than any report.
    const [first] = await accepted(log, [append('t:gone', ['like'], { likeDelta: 2 })]);
    expect(first?.base).toBe(0);
    await log.restore([{ topic: 't:gone', likes: 100, status: 'ended' }]);
    expect(await log.read('t:gone', undefined)).toMatchObject({ pos: 1, likes: 43, status: 'live' });
  });

  it('marks the relayed events nodes report as arrived: the last 65,536 positions of their origin log', async () => {
    const through = 70_000;
    await log.restore([{ topic: 't:relayed', likes: 0, relayed: { 'abcd1234-eu': through } }]);
    const relayed = (pos: number) =>
      log.accept([
        append('t:relayed', ['comment'], {
          dedupe: [{ index: 0, ...dedupeMark({ region: 'eu', epoch: 'abcd1234', pos }) }],
        }),
      ]);
    // At the ends of the range, on both sides of a bitmap boundary, and an odd bit of a byte.
    for (const pos of [through, through - 65_535, 65_535, 65_536, 65_541, 69_997])
      expect(await relayed(pos), `position ${pos}`).toEqual({ duplicates: [{ append: 0, index: 0 }] });
    // Beyond it: new (a later event), or too old to be in flight any more.
    for (const pos of [through + 1, through - 65_536])
      expect(Array.isArray(await relayed(pos)), `position ${pos}`).toBe(true);
    // Another origin log of the same region is not touched.
    const other = await log.accept([
      append('t:relayed', ['comment'], {
        dedupe: [{ index: 0, ...dedupeMark({ region: 'eu', epoch: 'zzzz9999', pos: 5 }) }],
      }),
    ]);
    expect(Array.isArray(other)).toBe(true);
  });

  it('returns the live nodes with viewers of each topic', async () => {
    await registry.addTopics({ nodeId: 'n1', url: 'http://127.0.0.1:1' }, ['t:n'], 60_000);
    const [withNode, without] = await accepted(log, [append('t:n', ['comment']), append('t:none', ['comment'])]);
    expect(withNode?.nodes).toEqual([{ nodeId: 'n1', url: 'http://127.0.0.1:1' }]);
    expect(without?.nodes).toEqual([]);
  });
});

describe('RedisTopicLog', () => {
  it('cuts a history read short past its byte budget (1 MiB a topic), and says so', async () => {
    const prefix = shared.prefix();
    const registry = new RedisRegistry(shared.client(), prefix);
    const log = new RedisTopicLog(shared.client(), prefix, registry, { ...limits, maxEvents: 1000 });
    const big = JSON.stringify({ text: 'x'.repeat(8000) });
    for (let i = 0; i < 200; i++) {
      await accepted(log, [{ ...append('t:big', ['comment']), history: [{ index: 0, body: big }] }]);
    }
    const read = await log.read('t:big', 0);
    expect(read.cut).toBe(true);
    expect(read.pos).toBe(200);
    expect(read.events.length).toBeGreaterThan(100);
    expect(read.events.length).toBeLessThan(200);
    expect(read.events.map((e) => e.pos)).toEqual(Array.from({ length: read.events.length }, (_, i) => i + 1));
    const recent = await log.read('t:big', 150);
    expect(recent.cut).toBeUndefined();
    expect(recent.events).toHaveLength(50);
  });

  it('starts a new epoch when Redis lost the topic (restart, flush), so old ids cannot match', async () => {
    const prefix = shared.prefix();
    const registry = new RedisRegistry(shared.client(), prefix);
    const log = new RedisTopicLog(shared.client(), prefix, registry, limits);
    const [before] = await accepted(log, [append('t:e', ['comment', 'comment'])]);
    await shared.client().del(`${prefix}:topic:{t:e}:log`);
    const [after] = await accepted(log, [append('t:e', ['comment'])]);
    expect(after?.epoch).not.toBe(before?.epoch);
    expect(after?.base).toBe(0);
    expect((await log.read('t:e', 0)).events.map((e) => e.pos)).toEqual([1]);
  });
});
