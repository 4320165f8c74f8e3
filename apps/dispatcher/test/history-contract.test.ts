import type { TWireEvent } from '@ovation/shared';
import { beforeEach, describe, expect, it } from 'vitest';
import { redisForThisFile } from '../../../test-support/shared-redis.js';
import type { HistoryLimits, HistoryStore } from '../src/history/history.js';
import { MemoryHistory } from '../src/history/memory-history.js';
import { RedisHistory } from '../src/history/redis-history.js';

const shared = redisForThisFile('history-test');

let seq = 0;
function event(topic: string, type = 'comment', ts = Date.now()): TWireEvent {
  seq++;
  return { id: `e${String(seq).padStart(6, '0')}`, topic, type, data: { n: seq }, ts, region: 'local' };
}

const drivers: Record<string, (limits: HistoryLimits, now: () => number) => HistoryStore> = {
  memory: (limits, now) => new MemoryHistory(limits, now),
  redis: (limits, now) => new RedisHistory(shared.client(), shared.prefix(), limits, now),
};

describe.each(Object.entries(drivers))('HistoryStore contract (%s)', (_name, make) => {
  let history: HistoryStore;
  beforeEach(() => {
    history = make({ maxEvents: 50, maxAgeMs: 60_000 }, Date.now);
  });

  it('returns the events of a topic after a given id, in append order', async () => {
    const a = event('t');
    const b = event('t');
    const c = event('t');
    const other = event('u');
    const d = event('t');
    await history.append([a, b, other]);
    await history.append([c, d]);
    expect(await history.since('t', a.id)).toEqual({ complete: true, events: [b, c, d] });
    expect(await history.since('t', d.id)).toEqual({ complete: true, events: [] });
    expect(await history.since('u', other.id)).toEqual({ complete: true, events: [] });
  });

  it('answers incomplete for an unknown or garbage id', async () => {
    await history.append([event('t')]);
    expect(await history.since('t', 'never-seen')).toEqual({ complete: false, events: [] });
    expect(await history.since('t', '')).toEqual({ complete: false, events: [] });
    expect(await history.since('empty', 'x')).toEqual({ complete: false, events: [] });
  });

  it('keeps likes and viewer counts out (their totals are the state)', async () => {
    const first = event('t');
    await history.append([first, event('t', 'like'), event('t', 'viewers'), event('t', 'comment_deleted')]);
    expect((await history.since('t', first.id)).events.map((e) => e.type)).toEqual(['comment_deleted']);
  });

  it('forgets beyond its bound, so an id that fell off means resync', async () => {
    const events = Array.from({ length: 200 }, () => event('t'));
    await history.append(events);
    const first = events[0] as TWireEvent;
    const late = events[190] as TWireEvent;
    expect((await history.since('t', first.id)).complete).toBe(false);
    expect((await history.since('t', late.id)).events).toHaveLength(9);
  });
});

describe('HistoryStore age limit', () => {
  it.each(Object.entries(drivers))('%s: events older than maxAgeMs are not replayed', async (_name, make) => {
    let clock = Date.now();
    const history = make({ maxEvents: 100, maxAgeMs: 10_000 }, () => clock);
    const old = event('t', 'comment', clock);
    const next = event('t', 'comment', clock);
    await history.append([old, next]);
    clock += 20_000;
    expect((await history.since('t', old.id)).complete).toBe(false);
  });
});
