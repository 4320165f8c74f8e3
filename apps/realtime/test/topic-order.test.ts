import { positionId, type TWireEvent } from '@ovation/shared';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { TopicOrder, type TopicOrderOptions } from '../src/fanout/topic-order.js';

const EPOCH = 'abcd1234';

function event(pos: number, type = 'comment', epoch = EPOCH): TWireEvent {
  return {
    id: positionId({ ts: 1_800_000_000_000, pos, epoch, region: 'local' }),
    topic: 't',
    type,
    data: { pos },
    ts: 1_800_000_000_000,
    region: 'local',
  };
}

/** A TopicOrder whose output (immediate and later) is collected as positions. */
function order(repair: TopicOrderOptions['repair'] = async () => undefined) {
  const released: number[] = [];
  const gaps: string[] = [];
  let late = 0;
  const o = new TopicOrder({
    gapWaitMs: 100,
    startWaitMs: 1000,
    release: (events) => released.push(...events.map((e) => e.data.pos as number)),
    repair,
    onGap: (outcome) => gaps.push(outcome),
    onLate: () => late++,
  });
  const push = (...events: TWireEvent[]) => {
    const out: TWireEvent[] = [];
    for (const e of events) o.push(e, out);
    released.push(...out.map((e) => e.data.pos as number));
  };
  return { o, push, released, gaps, late: () => late };
}

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

describe('TopicOrder', () => {
  it('passes events in order at once, and puts an early one after those before it', () => {
    const t = order();
    t.o.seed('t', EPOCH, 10);
    t.push(event(11), event(13), event(12), event(14));
    expect(t.released).toEqual([11, 12, 13, 14]);
  });

  it('drops what a catch-up already covered, and holds a topic until its start is known', () => {
    const t = order();
    t.push(event(5), event(7), event(6));
    expect(t.released).toEqual([]);
    t.o.seed('t', EPOCH, 5);
    expect(t.released).toEqual([6, 7]);
    t.push(event(4));
    expect(t.late()).toBe(1);
    expect(t.released).toEqual([6, 7]);
  });

  it('fills a gap that never arrives from history, skipping likes, and drops the straggler', async () => {
    const repair = vi.fn(async () => ({ events: [event(3), event(5, 'status')], pos: 9 }));
    const t = order(repair);
    t.o.seed('t', EPOCH, 2);
    t.push(event(6), event(7));
    expect(t.released).toEqual([]);
    await vi.advanceTimersByTimeAsync(100);
    expect(repair).toHaveBeenCalledWith('t', EPOCH, 2);
    // 3 and 5 come from history; 4 (a like, say) is not in it and is skipped.
    expect(t.released).toEqual([3, 5, 6, 7]);
    expect(t.gaps).toEqual(['repaired']);
    t.push(event(4, 'like'), event(8));
    expect(t.released).toEqual([3, 5, 6, 7, 8]);
    expect(t.late()).toBe(1);
  });

  it('skips a gap it cannot repair, and waits at most startWaitMs for an unknown start', async () => {
    const t = order(async () => undefined);
    t.o.seed('t', EPOCH, 0);
    t.push(event(3));
    await vi.advanceTimersByTimeAsync(100);
    expect(t.released).toEqual([3]);
    expect(t.gaps).toEqual(['skipped']);

    const fresh = order();
    fresh.push({ ...event(9), topic: 'u' });
    await vi.advanceTimersByTimeAsync(999);
    expect(fresh.released).toEqual([]);
    await vi.advanceTimersByTimeAsync(1);
    expect(fresh.released).toEqual([9]);
  });

  it('starts a new epoch of a known topic at position 1 (its log was lost)', () => {
    const t = order();
    t.o.seed('t', EPOCH, 40);
    t.push(event(41), event(2, 'comment', 'zzzz9999'), event(1, 'comment', 'zzzz9999'));
    expect(t.released).toEqual([41, 1, 2]);
  });

  it('lets events without a position id through untouched', () => {
    const t = order();
    const foreign = { ...event(1), id: 'foreign-id', data: { pos: -1 } };
    t.push(foreign);
    expect(t.released).toEqual([-1]);
  });
});
