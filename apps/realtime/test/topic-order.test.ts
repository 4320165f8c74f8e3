import { positionId, type TTopicCatchUp, type TWireEvent } from '@ovation/shared';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { TopicOrder, type TopicOrderOptions } from '../src/fanout/topic-order.js';

const EPOCH = 'abcd1234';

function event(pos: number, type = 'comment', epoch = EPOCH, data: Record<string, unknown> = {}): TWireEvent {
  return {
    id: positionId({ ts: 1_800_000_000_000, pos, epoch, region: 'local' }),
    topic: 't',
    type,
    data: { pos, ...data },
    ts: 1_800_000_000_000,
    region: 'local',
  };
}

/** A catch-up read of topic `t` (what a repair or a joining viewer gets). */
function read(pos: number, events: TWireEvent[], extra: Partial<TTopicCatchUp> = {}): TTopicCatchUp {
  return {
    topic: 't',
    epoch: EPOCH,
    pos,
    trimmedThrough: 0,
    maxAgeMs: 600_000,
    region: 'local',
    viewers: 3,
    likes: 0,
    events,
    ...extra,
  };
}

const seed = (o: TopicOrder, pos: number, likes = 0, epoch = EPOCH) =>
  o.seed('t', { epoch, pos, likes, status: undefined, region: 'local', viewers: 1 });

/** A TopicOrder whose output (immediate and later) is collected; `released` gives positions or frame names. */
function order(repair: TopicOrderOptions['repair'] = async () => undefined, probe?: TopicOrderOptions['probe']) {
  const out: TWireEvent[] = [];
  const gaps: string[] = [];
  let late = 0;
  const o = new TopicOrder({
    gapWaitMs: 100,
    startWaitMs: 1000,
    release: (events) => out.push(...events),
    repair,
    ...(probe ? { probe } : {}),
    onGap: (outcome) => {
      gaps.push(outcome);
    },
    onLate: () => late++,
  });
  const push = (...events: TWireEvent[]) => {
    const now: TWireEvent[] = [];
    for (const e of events) o.push(e, now);
    out.push(...now);
  };
  const released = () =>
    out.map((e) =>
      e.type === 'snapshot'
        ? `snapshot:${e.data.likes}`
        : e.type === 'resync'
          ? 'resync'
          : (e.data.pos ?? `${e.type}:${e.data.count}`),
    );
  return { o, push, out, released, gaps, late: () => late };
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
    seed(t.o, 10);
    t.push(event(11), event(13), event(12), event(14));
    expect(t.released()).toEqual([11, 12, 13, 14]);
  });

  it('puts early events that arrive out of order (and twice) in order, once each', () => {
    const t = order();
    seed(t.o, 10);
    t.push(event(15), event(13), event(17), event(14), event(13), event(16), event(12), event(17));
    expect(t.released()).toEqual([]);
    t.push(event(11));
    expect(t.released()).toEqual([11, 12, 13, 14, 15, 16, 17]);
    expect(t.late()).toBe(0);
  });

  it('drops what a catch-up already covered, and holds a topic until its start is known', () => {
    const t = order();
    t.push(event(5), event(7), event(6));
    expect(t.released()).toEqual([]);
    seed(t.o, 5);
    expect(t.released()).toEqual([6, 7]);
    t.push(event(4), event(6));
    expect(t.late()).toBe(2);
    expect(t.released()).toEqual([6, 7]);
  });

  it('fills a gap of history events from history, without a snapshot when nothing else is missing', async () => {
    const repair = vi.fn(async () => read(5, [event(3), event(4, 'status', EPOCH, { status: 'live' })]));
    const t = order(repair);
    seed(t.o, 2);
    t.push(event(5), event(6));
    expect(t.released()).toEqual([]);
    await vi.advanceTimersByTimeAsync(100);
    expect(repair).toHaveBeenCalledWith('t', 2, EPOCH);
    expect(t.released()).toEqual([3, 4, 5, 6]);
    expect(t.gaps).toEqual(['repaired']);
    expect(t.o.state('t')).toEqual({ likes: 0, reactions: {}, status: 'live', viewers: 1 });
  });

  it('sends the likes a gap lost as one like (sums stay exact), then a snapshot', async () => {
    // Positions 3 (a like of 2) and 4 (a comment) never arrived; history has only the comment.
    const repair = vi.fn(async () => read(6, [event(4), event(6)], { likes: 13 }));
    const t = order(repair);
    seed(t.o, 2, 10);
    t.push(event(5, 'like', EPOCH, { count: 1 }));
    await vi.advanceTimersByTimeAsync(100);
    // 10 + 1 (position 5) = 11 seen; the log says 13: the like of position 3 (2) goes out as one.
    expect(t.released()).toEqual([4, 5, 6, 'like:2', 'snapshot:13']);
    expect(t.gaps).toEqual(['snapshot']);
    expect(t.o.state('t')).toEqual({ likes: 13, reactions: { like: 13 }, viewers: 3 });
    // The like of position 3 arriving now is a straggler: already counted.
    t.push(event(3, 'like', EPOCH, { count: 2 }), event(7, 'like', EPOCH, { count: 1 }));
    expect(t.released()).toEqual([4, 5, 6, 'like:2', 'snapshot:13', 7]);
    expect(t.o.state('t')).toEqual({ likes: 14, reactions: { like: 14 }, viewers: 3 });
  });

  it('sends the likes a gap lost per reaction too: byReaction is what the log counted beyond this node', async () => {
    // Seen: 10 likes (6 like, 4 love), then position 5 (1 funny). Position 3 (2 love, 1 celebrate)
    // never arrived. The log says 14: 6 like, 6 love, 1 celebrate, 1 funny.
    const reactions = { like: 6, love: 6, celebrate: 1, funny: 1 };
    const t = order(vi.fn(async () => read(5, [event(4)], { likes: 14, reactions })));
    t.o.seed('t', { epoch: EPOCH, pos: 2, likes: 10, reactions: { like: 6, love: 4 }, region: 'local', viewers: 1 });
    t.push(event(5, 'like', EPOCH, { count: 1, byReaction: { funny: 1 } }));
    await vi.advanceTimersByTimeAsync(100);
    expect(t.released()).toEqual([4, 5, 'like:3', 'snapshot:14']);
    expect(t.out.find((e) => e.type === 'like' && e.data.pos === undefined)?.data).toEqual({
      count: 3,
      byReaction: { love: 2, celebrate: 1 },
    });
    expect(t.out.at(-1)?.data).toMatchObject({ likes: 14, reactions });
    expect(t.o.state('t')).toMatchObject({ likes: 14, reactions });
  });

  it('retries a repair while the tier cannot be read, then gives the gap up with resync and owes a snapshot', async () => {
    let reachable = false;
    const repair = vi.fn(async () => {
      if (!reachable) throw new Error('unreachable');
      return read(9, [], { likes: 50 });
    });
    const t = order(repair);
    seed(t.o, 2, 5);
    t.push(event(4));
    await vi.advanceTimersByTimeAsync(10_000);
    expect(t.released()).toEqual([]);
    expect(t.gaps.every((g) => g === 'retry')).toBe(true);
    await vi.advanceTimersByTimeAsync(25_000);
    expect(t.released()).toEqual(['resync', 4]);
    expect(t.o.state('t')).toBeUndefined();
    reachable = true;
    await vi.advanceTimersByTimeAsync(6000);
    expect(t.released()).toEqual(['resync', 4, 'snapshot:50']);
    expect(t.o.state('t')).toEqual({ likes: 50, reactions: { like: 50 }, viewers: 3 });
  });

  it('sends resync when the log was lost (another epoch), then follows the new epoch with a snapshot', async () => {
    const repair = vi.fn(async (_topic: string, from: number) =>
      from === 2
        ? read(1, [], { epoch: 'zzzz9999' })
        : read(2, [event(1, 'comment', 'zzzz9999'), event(2, 'comment', 'zzzz9999')], { epoch: 'zzzz9999', likes: 4 }),
    );
    const t = order(repair);
    seed(t.o, 2);
    t.push(event(4));
    await vi.advanceTimersByTimeAsync(100);
    expect(t.released().slice(0, 2)).toEqual(['resync', 4]);
    await vi.advanceTimersByTimeAsync(100);
    expect(repair).toHaveBeenLastCalledWith('t', 0, 'zzzz9999');
    expect(t.released()).toEqual(['resync', 4, 1, 2, 'snapshot:4']);
  });

  it('sends resync when history was trimmed past the gap', async () => {
    const t = order(async () => read(30, [event(21), event(30)], { trimmedThrough: 20, likes: 9 }));
    seed(t.o, 2);
    t.push(event(30));
    await vi.advanceTimersByTimeAsync(100);
    expect(t.released()).toEqual(['resync', 21, 30, 'snapshot:9']);
  });

  it('sends resync when history past the gap is more than one read, then what arrived up to the read', async () => {
    const t = order(async () => read(8, [event(7)], { cut: true, likes: 3 }));
    seed(t.o, 2);
    t.push(event(9), event(6), event(4));
    await vi.advanceTimersByTimeAsync(100);
    expect(t.released()).toEqual(['resync', 4, 6, 'snapshot:3', 9]);
  });

  it('starts a new epoch of a known topic at position 1: resync, then what waited behind the old gap', () => {
    const t = order();
    seed(t.o, 40);
    t.push(event(41), event(43), event(2, 'comment', 'zzzz9999'), event(1, 'comment', 'zzzz9999'));
    expect(t.released()).toEqual([41, 'resync', 43, 1, 2]);
    // A delayed event of the old epoch still goes out once; one already out is dropped.
    t.push(event(44), event(41));
    expect(t.released()).toEqual([41, 'resync', 43, 1, 2, 44]);
    expect(t.late()).toBe(1);
  });

  it('sends resync and then a snapshot when an established topic moves to a new epoch, gap or not', async () => {
    const t = order(async () => read(1, [event(1, 'comment', 'zzzz9999')], { epoch: 'zzzz9999', likes: 6 }));
    seed(t.o, 40);
    t.push(event(41), event(1, 'comment', 'zzzz9999'));
    await vi.advanceTimersByTimeAsync(10);
    expect(t.released()).toEqual([41, 'resync', 1, 'snapshot:6']);
  });

  it('finds a lost tail when the topic goes quiet: the log is ahead of what arrived', async () => {
    // Position 4 (the last one: a status) died with its dispatcher; nothing comes after it.
    const probe = vi.fn(async () => new Map([['t', read(4, [])]]));
    const repair = vi.fn(async () => read(4, [event(4, 'status', EPOCH, { status: 'ended' })]));
    const t = order(repair, probe);
    seed(t.o, 0);
    t.push(event(1), event(2), event(3));
    await vi.advanceTimersByTimeAsync(900);
    expect(probe).not.toHaveBeenCalled();
    await vi.advanceTimersByTimeAsync(700);
    expect(probe).toHaveBeenCalledWith(['t']);
    expect(repair).toHaveBeenCalledWith('t', 3, EPOCH);
    expect(t.released()).toEqual([1, 2, 3, 4]);
    expect(t.o.state('t')).toMatchObject({ status: 'ended' });
    // Probed once per quiet spell: no event, no more probes.
    await vi.advanceTimersByTimeAsync(5000);
    expect(probe).toHaveBeenCalledOnce();
    t.o.close();
  });

  it('probes at most 5,000 topics at once: after a store loss 12,000 topics are probed over three rounds', async () => {
    const asked: number[] = [];
    const probe = vi.fn(async (topics: readonly string[]) => {
      asked.push(topics.length);
      return new Map<string, TTopicCatchUp>();
    });
    const t = order(undefined, probe);
    for (let i = 0; i < 12_000; i++)
      t.o.seed(`t${i}`, { epoch: EPOCH, pos: 0, likes: 0, status: undefined, region: 'local', viewers: 1 });
    t.o.probeAll();
    await vi.advanceTimersByTimeAsync(500);
    expect(asked).toEqual([5000]);
    await vi.advanceTimersByTimeAsync(1000);
    expect(asked).toEqual([5000, 5000, 2000]);
    t.o.close();
  });

  it('follows the like total, status and viewer count for a store that lost them', () => {
    const t = order();
    seed(t.o, 0, 7);
    t.push(event(1, 'like', EPOCH, { count: 3 }), event(2, 'status', EPOCH, { status: 'ended' }));
    t.push(event(3, 'like', EPOCH, { count: 1, total: 20 }), event(4, 'viewers', EPOCH, { count: 9 }));
    // The sum of counts, as the log keeps it; a publisher's `total` is for its own display.
    expect(t.o.state('t')).toEqual({ likes: 11, reactions: { like: 11 }, status: 'ended', viewers: 9 });
    expect(order().o.state('t')).toBeUndefined();
  });

  it('remembers, per origin log, the highest relayed position it let out (a few origins), across an epoch switch', () => {
    const t = order();
    seed(t.o, 0);
    const relayed = (pos: number, originPos: number, originEpoch: string, epoch = EPOCH) => ({
      ...event(pos, 'comment', epoch),
      originId: positionId({ ts: 1_800_000_000_000, pos: originPos, epoch: originEpoch, region: 'eu' }),
    });
    t.push(relayed(1, 40, 'eeee0001'), relayed(2, 41, 'eeee0001'), event(3), relayed(4, 7, 'eeee0002'));
    expect(t.o.state('t')?.relayed).toEqual({ 'eeee0001-eu': 41, 'eeee0002-eu': 7 });
    // Only the latest origins are kept; the oldest goes first.
    t.push(relayed(5, 1, 'eeee0003'), relayed(6, 1, 'eeee0004'), relayed(7, 1, 'eeee0005'));
    expect(Object.keys(t.o.state('t')?.relayed ?? {})).toEqual([
      'eeee0002-eu',
      'eeee0003-eu',
      'eeee0004-eu',
      'eeee0005-eu',
    ]);
    // The log here was lost (a new epoch): what this node let out is what a new store must know.
    t.push(relayed(1, 2, 'eeee0005', 'ffff0000'));
    expect(t.o.state('t')?.relayed).toMatchObject({ 'eeee0005-eu': 2 });
    t.o.close();
  });

  it('waits at most startWaitMs for an unknown start', async () => {
    const fresh = order();
    fresh.push({ ...event(9), topic: 'u' });
    await vi.advanceTimersByTimeAsync(999);
    expect(fresh.released()).toEqual([]);
    await vi.advanceTimersByTimeAsync(1);
    expect(fresh.released()).toEqual([9]);
  });

  it('lets events without a position id through untouched', () => {
    const t = order();
    const foreign = { ...event(1), id: 'foreign-id', data: { pos: -1 } };
    t.push(foreign);
    expect(t.released()).toEqual([-1]);
  });
});
