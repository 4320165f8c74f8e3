import { SseParser, type TWireEvent } from '@ovation/shared';
import { describe, expect, it } from 'vitest';
import { waitFor } from '../../../test-support/poll.js';
import type { Connection } from '../src/connections/connection.js';
import { TopicTable } from '../src/connections/topic-table.js';
import { encodeTopicBatch } from '../src/fanout/encode-batch.js';
import { FanoutScheduler } from '../src/fanout/scheduler.js';
import { createRealtimeMetrics } from '../src/metrics.js';

let seq = 0;
function wire(topic: string, type: string, data: Record<string, unknown>): TWireEvent {
  seq++;
  return { id: `id${String(seq).padStart(6, '0')}`, topic, type, data, ts: Date.now(), region: 'local' };
}

function parse(text: string) {
  return new SseParser()
    .push(text)
    .map((f) => ({ id: f.id, event: f.event, ...(JSON.parse(f.data) as object) })) as Array<{
    id: string;
    event: string;
    data: Record<string, unknown>;
  }>;
}

describe('encodeTopicBatch', () => {
  it('never coalesces likes across a snapshot or a resync (a like before one is inside its total)', () => {
    const events = [
      wire('t', 'like', { count: 1 }),
      wire('t', 'comment', { n: 1 }),
      wire('t', 'like', { count: 2 }),
      wire('t', 'snapshot', { likes: 10, viewers: 1 }),
      wire('t', 'like', { count: 4 }),
      { ...wire('t', 'resync', { topic: 't', reason: 'gap' }), id: '' },
      wire('t', 'like', { count: 8 }),
    ];
    const { text, likes } = encodeTopicBatch(events);
    const frames = new SseParser().push(text);
    expect(frames.map((f) => f.event)).toEqual(['comment', 'like', 'snapshot', 'like', 'resync', 'like']);
    const counts = frames
      .filter((f) => f.event === 'like')
      .map((f) => (JSON.parse(f.data) as { data: { count: number } }).data.count);
    expect(counts).toEqual([3, 4, 8]);
    expect(likes).toBe(15);
    expect(frames.find((f) => f.event === 'resync')?.id).toBeUndefined();
  });

  it('coalesces likes into one frame at the last like, keeping other events and id order', () => {
    const events = [
      wire('t', 'like', { count: 2, total: 10, sample: [{ id: 'u1', name: 'Ann' }] }),
      wire('t', 'comment', { text: 'a' }),
      wire('t', 'like', { count: 3, total: 13, sample: [{ id: 'u2', name: 'Bo' }] }),
      wire('t', 'comment', { text: 'b' }),
    ];
    const { text, frames, likes } = encodeTopicBatch(events);
    const out = parse(text);
    expect(frames).toBe(3);
    expect(likes).toBe(5);
    expect(out.map((f) => f.event)).toEqual(['comment', 'like', 'comment']);
    expect(out.map((f) => f.id)).toEqual([events[1]?.id, events[2]?.id, events[3]?.id]);
    expect(out[1]?.data).toEqual({
      count: 5,
      total: 13,
      sample: [
        { id: 'u1', name: 'Ann' },
        { id: 'u2', name: 'Bo' },
      ],
    });
    // Comments arrive untouched.
    expect(out[0]?.data).toEqual({ text: 'a' });
  });

  it("coalesces per reaction: byReaction sums per reaction, totals are the highest total's", () => {
    const events = [
      wire('t', 'like', { count: 2, byReaction: { love: 2 }, total: 2, totals: { love: 2 } }),
      wire('t', 'like', { count: 3, total: 5 }), // a publisher that names no reaction: all `like`
      wire('t', 'like', {
        count: 4,
        byReaction: { funny: 1, love: 3 },
        total: 9,
        totals: { love: 5, like: 3, funny: 1 },
      }),
      // Totals of concurrent publishes may arrive out of order: the highest total's totals win.
      wire('t', 'like', {
        count: 1,
        byReaction: { celebrate: 1 },
        total: 6,
        totals: { love: 2, like: 3, celebrate: 1 },
      }),
      // A byReaction that does not sum to its count (no dispatcher lets one through) counts as `like`.
      wire('t', 'like', { count: 2, byReaction: { love: 5 } }),
    ];
    const { text, likes } = encodeTopicBatch(events);
    const out = parse(text);
    expect(out).toHaveLength(1);
    expect(likes).toBe(12);
    expect(out[0]?.data).toMatchObject({
      count: 12,
      byReaction: { love: 5, like: 5, funny: 1, celebrate: 1 },
      total: 9,
      totals: { love: 5, like: 3, funny: 1 },
    });
    const { byReaction } = (out[0]?.data ?? {}) as { byReaction: Record<string, number> };
    expect(Object.values(byReaction).reduce((a, b) => a + b, 0)).toBe(12);
  });

  it("never pairs one like's total with another's totals", () => {
    const events = [
      wire('t', 'like', { count: 1, total: 50 }),
      wire('t', 'like', { count: 1, byReaction: { love: 1 }, total: 3, totals: { love: 3 } }),
    ];
    const data = parse(encodeTopicBatch(events).text)[0]?.data;
    expect(data).toMatchObject({ count: 2, total: 50, byReaction: { like: 1, love: 1 } });
    expect(data).not.toHaveProperty('totals');
  });

  it('leaves a lone like as it was published', () => {
    const like = wire('t', 'like', { count: 4, extra: 'kept' });
    expect(parse(encodeTopicBatch([like]).text)[0]?.data).toEqual({ count: 4, extra: 'kept' });
  });

  it('caps the sample at five distinct, newest likers', () => {
    const events = Array.from({ length: 8 }, (_, i) =>
      wire('t', 'like', { count: 1, sample: [{ id: `u${i % 7}`, name: `N${i}` }] }),
    );
    const sample = parse(encodeTopicBatch(events).text)[0]?.data.sample as Array<{ id: string }>;
    expect(sample.map((s) => s.id)).toEqual(['u3', 'u4', 'u5', 'u6', 'u0']);
  });
});

/** A stand-in subscriber: the scheduler only calls `deliver`. */
function fakeConnection(id: string) {
  const parser = new SseParser();
  const frames: Array<{ event: string; data: Record<string, unknown> }> = [];
  const topics = new Set<string>();
  const connection = {
    id,
    hasTopic: (t: string) => topics.has(t),
    addTopic: (t: string) => !topics.has(t) && Boolean(topics.add(t)),
    removeTopic: (t: string) => topics.delete(t),
    deliver(chunk: Buffer) {
      for (const f of parser.push(chunk.toString()))
        frames.push({ event: f.event, ...(JSON.parse(f.data) as { data: Record<string, unknown> }) });
      return true;
    },
  };
  return { connection: connection as unknown as Connection, frames };
}

describe('FanoutScheduler', () => {
  const metrics = () => createRealtimeMetrics({ connections: () => 0, subscriptions: () => 0, topics: () => 0 });

  it("keeps every viewer's like sum exact across many flushes, and batches under load", async () => {
    const table = new TopicTable();
    const m = metrics();
    const scheduler = new FanoutScheduler(table, m);
    const viewers = Array.from({ length: 20 }, (_, i) => fakeConnection(`c${i}`));
    for (const v of viewers) table.subscribe(v.connection, ['video:x']);

    let published = 0;
    for (let round = 0; round < 200; round++) {
      const batch = Array.from({ length: 1 + (round % 7) }, (_, i) =>
        wire('video:x', 'like', { count: 1 + ((round + i) % 50) }),
      );
      published += batch.reduce((n, e) => n + (e.data.count as number), 0);
      scheduler.enqueue(batch);
      if (round % 10 === 0) await new Promise((resolve) => setImmediate(resolve));
    }
    const sum = (frames: Array<{ event: string; data: Record<string, unknown> }>) =>
      frames.filter((f) => f.event === 'like').reduce((n, f) => n + (f.data.count as number), 0);
    await waitFor('all likes flushed', () => viewers.every((v) => sum(v.frames) === published));
    for (const v of viewers) expect(sum(v.frames)).toBe(published);
    // Far fewer like frames than like events: they were coalesced.
    expect(viewers[0]?.frames.length).toBeLessThan(100);
  });

  it('does not give a new subscriber likes that arrived before it joined', async () => {
    const table = new TopicTable();
    const scheduler = new FanoutScheduler(table, metrics());
    const early = fakeConnection('early');
    const late = fakeConnection('late');
    table.subscribe(early.connection, ['video:y']);
    scheduler.enqueue([wire('video:y', 'like', { count: 7 })]);
    // Joining flushes what is pending first (as ConnectionHub.subscribe does).
    scheduler.flushTopic('video:y');
    table.subscribe(late.connection, ['video:y']);
    scheduler.enqueue([wire('video:y', 'like', { count: 2 })]);
    await waitFor('second flush', () => late.frames.length === 1);
    expect(early.frames.map((f) => f.data.count)).toEqual([7, 2]);
    expect(late.frames.map((f) => f.data.count)).toEqual([2]);
  });

  it('keeps no ordering state for a topic that has no viewer any more', () => {
    const scheduler = new FanoutScheduler(new TopicTable(), metrics());
    scheduler.seedOrder('video:gone', {
      epoch: 'abcd1234',
      pos: 5,
      likes: 0,
      status: undefined,
      region: 'local',
      viewers: 0,
    });
    expect(scheduler.releasedThrough('video:gone', 'abcd1234')).toBe(-1);
  });
});
