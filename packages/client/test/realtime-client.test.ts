import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { RealtimeClient, type RealtimeClientOptions } from '../src/realtime-client.js';
import type { UntypedEvents } from '../src/wire.js';
import { connect, FakeSource, latest } from './fake-source.js';

const URLS = ['http://a:1', 'http://b:2', 'http://c:3'];

// The client's mechanics, whatever the events: any type may be listened to (control names too).
function makeClient(extra: Partial<RealtimeClientOptions<UntypedEvents>> = {}) {
  const events: Array<{ id: string; type: string }> = [];
  const statuses: string[] = [];
  let r = 0;
  const randoms = [0.1, 0.5, 0.9, 0.3, 0.7];
  const client = new RealtimeClient<UntypedEvents>({
    urls: URLS,
    topics: ['video:1'],
    eventTypes: ['comment', 'like'],
    onEvent: (e) => events.push({ id: e.id, type: e.type }),
    onStatus: (s) => statuses.push(s),
    createEventSource: (url) => new FakeSource(url),
    random: () => randoms[r++ % randoms.length] as number,
    reportLatency: false,
    ...extra,
  });
  return { client, events, statuses };
}

beforeEach(() => {
  FakeSource.all = [];
  vi.useFakeTimers();
});

afterEach(() => {
  vi.useRealTimers();
});

describe('RealtimeClient', () => {
  it('connects to one of the URLs with its topics and passes events on', () => {
    const { client, events, statuses } = makeClient();
    client.start();
    const source = latest();
    expect(URLS).toContain(source.node);
    expect(source.params.get('topics')).toBe('video:1');
    expect(source.params.has('lastEventId')).toBe(false);
    connect(source);
    source.emit('comment', { id: 'e1', topic: 'video:1', type: 'comment', data: {}, ts: Date.now() });
    expect(events).toEqual([{ id: 'e1', type: 'comment' }]);
    expect(statuses).toEqual(['connecting', 'open']);
    client.stop();
    expect(source.closed).toBe(true);
  });

  it('backs off exponentially with full jitter, capped', () => {
    const { client } = makeClient({ random: () => 0.999, backoffBaseMs: 500, backoffMaxMs: 8000 });
    expect([1, 2, 3, 4, 5, 6].map((n) => client.backoffDelay(n))).toEqual([499, 999, 1998, 3996, 7992, 7992]);
    const { client: low } = makeClient({ random: () => 0 });
    expect(low.backoffDelay(10)).toBe(0);
  });

  it('on error moves to another node after the backoff, handing over the last event id', () => {
    const { client } = makeClient({ random: () => 0.5 });
    client.start();
    const first = latest();
    connect(first);
    first.emit('comment', { id: 'e7', topic: 'video:1', type: 'comment', data: {}, ts: 0 });
    first.fail();
    expect(first.closed).toBe(true);
    expect(FakeSource.all).toHaveLength(1);
    vi.advanceTimersByTime(client.backoffDelay(1)); // 250 ms at random 0.5, base 500
    const second = latest();
    expect(FakeSource.all).toHaveLength(2);
    expect(second.node).not.toBe(first.node);
    expect(second.params.get('lastEventId')).toBe('e7');
    client.stop();
  });

  it('grows the delay while failures repeat and resets it once connected', () => {
    const { client } = makeClient({ random: () => 0.999, backoffBaseMs: 100 });
    client.start();
    latest().fail();
    vi.advanceTimersByTime(98);
    expect(FakeSource.all).toHaveLength(1);
    vi.advanceTimersByTime(1);
    expect(FakeSource.all).toHaveLength(2);
    latest().fail();
    vi.advanceTimersByTime(198);
    expect(FakeSource.all).toHaveLength(2);
    vi.advanceTimersByTime(1);
    expect(FakeSource.all).toHaveLength(3);
    connect(latest());
    latest().fail();
    vi.advanceTimersByTime(99);
    expect(FakeSource.all).toHaveLength(4);
    client.stop();
  });

  it('replaces a connection that went silent (no heartbeat) past the watchdog', () => {
    const { client } = makeClient({ silenceTimeoutMs: 1000, random: () => 0 });
    client.start();
    const first = latest();
    connect(first);
    vi.advanceTimersByTime(900);
    first.emit('heartbeat', { ts: 1 });
    vi.advanceTimersByTime(900);
    expect(FakeSource.all).toHaveLength(1);
    vi.advanceTimersByTime(200);
    expect(first.closed).toBe(true);
    vi.advanceTimersByTime(0);
    expect(FakeSource.all).toHaveLength(2);
    client.stop();
  });

  it('on a reconnect frame keeps reading the draining node until afterMs, then moves, resuming', () => {
    const { client, events } = makeClient({ silenceTimeoutMs: 1000 });
    client.start();
    const first = latest();
    connect(first);
    first.emit('reconnect', { afterMs: 4200 });
    expect(first.closed).toBe(false);
    vi.advanceTimersByTime(3000); // past the silence watchdog: no early reconnect while draining
    first.emit('comment', { id: 'during-drain', topic: 'video:1', type: 'comment', data: {}, ts: 0 });
    expect(events.at(-1)?.id).toBe('during-drain');
    first.fail(); // the node ends the stream first: expected, no backoff path
    vi.advanceTimersByTime(1199);
    expect(FakeSource.all).toHaveLength(1);
    vi.advanceTimersByTime(1);
    expect(FakeSource.all).toHaveLength(2);
    expect(latest().node).not.toBe(first.node);
    expect(latest().params.get('lastEventId')).toBe('during-drain');
    client.stop();
  });

  it('ignores a published event named like a control frame: no move, no resync, no reconnect storm', () => {
    const onResync = vi.fn();
    const { client, events, statuses } = makeClient({
      onResync,
      eventTypes: ['comment', 'reconnect', 'resync'],
      silenceTimeoutMs: 120_000,
    });
    client.start();
    const first = latest();
    connect(first);
    const disguised = (type: string) => ({ id: `x-${type}`, topic: 'video:1', type, data: { afterMs: 0 }, ts: 0 });
    for (const type of ['reconnect', 'resync', 'connected', 'heartbeat']) first.emit(type, disguised(type));
    first.emit('reconnect', { afterMs: 'soon' }); // not a valid payload either
    vi.advanceTimersByTime(10_000);
    expect(FakeSource.all).toEqual([first]);
    expect(first.closed).toBe(false);
    expect(onResync).not.toHaveBeenCalled();
    expect(events.map((e) => e.type)).not.toContain('reconnect');
    expect(statuses.filter((s) => s === 'open')).toHaveLength(1);
    client.stop();
  });

  it('forgets the last id on resync and tells the page to reload the topic', () => {
    const onResync = vi.fn();
    const { client } = makeClient({ onResync });
    client.start();
    const first = latest();
    connect(first);
    first.emit('comment', { id: 'old', topic: 'video:1', type: 'comment', data: {}, ts: 0 });
    first.emit('resync', { topic: 'video:1', reason: 'unknown_id' });
    expect(onResync).toHaveBeenCalledExactlyOnceWith('video:1');
    expect(client.lastId).toBeUndefined();
    first.fail();
    vi.runOnlyPendingTimers();
    expect(latest().params.has('lastEventId')).toBe(false);
    client.stop();
  });

  it('closes while the page is hidden for long and reopens, resuming, when it is visible again', () => {
    let hidden = false;
    let listener: () => void = () => {};
    const { client, statuses } = makeClient({
      hiddenCloseMs: 10_000,
      visibility: {
        isHidden: () => hidden,
        onChange: (l) => {
          listener = l;
          return () => {};
        },
      },
    });
    client.start();
    const first = latest();
    connect(first);
    first.emit('like', { id: 'l9', topic: 'video:1', type: 'like', data: { count: 1 }, ts: 0 });
    hidden = true;
    listener();
    vi.advanceTimersByTime(9_999);
    expect(first.closed).toBe(false);
    vi.advanceTimersByTime(1);
    expect(first.closed).toBe(true);
    expect(statuses.at(-1)).toBe('paused');
    // No reconnect attempts while hidden.
    vi.advanceTimersByTime(120_000);
    expect(FakeSource.all).toHaveLength(1);
    hidden = false;
    listener();
    expect(FakeSource.all).toHaveLength(2);
    expect(latest().params.get('lastEventId')).toBe('l9');
    client.stop();
  });

  it('connects to the preferred node first, then picks at random like any client', () => {
    const { client } = makeClient({ preferredUrl: 'http://c:3' });
    client.start();
    expect(latest().node).toBe('http://c:3');
    latest().fail();
    vi.runOnlyPendingTimers();
    expect(latest().node).not.toBe('http://c:3');
    client.stop();
  });

  it('takes a snapshot id as its resume point, like any event id', () => {
    const { client, events } = makeClient({ eventTypes: ['snapshot', 'comment'] });
    client.start();
    const first = latest();
    connect(first);
    first.emit('snapshot', { id: 'snap-1', topic: 'video:1', type: 'snapshot', data: { viewers: 2, likes: 5 }, ts: 0 });
    expect(events).toEqual([{ id: 'snap-1', type: 'snapshot' }]);
    first.fail();
    vi.runOnlyPendingTimers();
    expect(latest().params.get('lastEventId')).toBe('snap-1');
    client.stop();
  });

  it('reports receive latencies to the node it is connected to, in batches', async () => {
    const posts: Array<{ url: string; body: unknown }> = [];
    let now = 10_000;
    const { client } = makeClient({
      reportLatency: true,
      latencyReportIntervalMs: 5000,
      now: () => now,
      fetch: async (url, init) => {
        posts.push({ url, body: JSON.parse(init.body) });
        return { ok: true, status: 200 };
      },
    });
    client.start();
    const source = latest();
    connect(source, 'conn-7');
    // A replayed comment (sent late on purpose on resume) is no latency sample.
    source.emit('comment', { id: 'r', topic: 'video:1', type: 'comment', data: {}, ts: now - 9000, replayed: true });
    source.emit('comment', { id: 'a', topic: 'video:1', type: 'comment', data: {}, ts: now - 40 });
    now += 10;
    source.emit('comment', { id: 'b', topic: 'video:1', type: 'comment', data: {}, ts: now - 12 });
    vi.advanceTimersByTime(5000);
    expect(posts).toEqual([
      { url: `${source.node}/latency`, body: { connectionId: 'conn-7', topic: 'video:1', samples: [40, 12] } },
    ]);
    vi.advanceTimersByTime(5000);
    expect(posts).toHaveLength(1); // nothing new, nothing sent
    client.stop();
  });

  it('reports nothing as an observer (not a counted viewer: the node refuses its reports)', () => {
    const posts: unknown[] = [];
    const { client } = makeClient({
      reportLatency: true,
      observer: true,
      latencyReportIntervalMs: 5000,
      fetch: async (_url, init) => {
        posts.push(init.body);
        return { ok: true, status: 200 };
      },
    });
    client.start();
    const source = latest();
    expect(source.params.get('observer')).toBe('1');
    connect(source);
    source.emit('comment', { id: 'a', topic: 'video:1', type: 'comment', data: {}, ts: Date.now() - 40 });
    vi.advanceTimersByTime(15_000);
    expect(posts).toEqual([]);
    client.stop();
  });
});

describe('RealtimeClient with a connection token', () => {
  const HOUR = 3600_000;

  it('connects with the token it was given while it is fresh, and renews one that expires soon first', async () => {
    const renew = vi.fn(async () => ({ token: 'fresh', expiresAt: Date.now() + 6 * HOUR }));
    const { client } = makeClient({ token: { current: { token: 'given', expiresAt: Date.now() + HOUR }, renew } });
    client.start();
    expect(latest().params.get('token')).toBe('given');
    expect(renew).not.toHaveBeenCalled();
    client.stop();

    const soon = makeClient({ token: { current: { token: 'old', expiresAt: Date.now() + 60_000 }, renew } });
    soon.client.start();
    expect(FakeSource.all).toHaveLength(1); // nothing opened before the renewal answered
    await vi.waitFor(() => expect(FakeSource.all).toHaveLength(2));
    expect(latest().params.get('token')).toBe('fresh');
    expect(renew).toHaveBeenCalledTimes(1);
    soon.client.stop();
  });

  it('renews after attempts refused before the stream opened (a 401 looks like any error), not after a drop', async () => {
    let n = 0;
    const renew = vi.fn(async () => ({ token: `t${++n}`, expiresAt: Date.now() + 6 * HOUR }));
    const { client } = makeClient({ token: { current: { token: 't0', expiresAt: Date.now() + 6 * HOUR }, renew } });
    client.start();
    connect(latest());
    latest().fail(); // an open stream dropped: the token is not suspect
    await vi.advanceTimersByTimeAsync(30_000);
    expect(latest().params.get('token')).toBe('t0');
    latest().fail(); // refused before open, once
    await vi.advanceTimersByTimeAsync(30_000);
    expect(latest().params.get('token')).toBe('t0');
    latest().fail(); // twice: renew before the next attempt
    await vi.advanceTimersByTimeAsync(30_000);
    await vi.waitFor(() => expect(latest().params.get('token')).toBe('t1'));
    expect(renew).toHaveBeenCalledTimes(1);
    client.stop();
  });

  it('backs off when the renewal fails, and a stop during a renewal opens nothing', async () => {
    let fail = true;
    const renew = vi.fn(async () => {
      if (fail) throw new Error('web tier down');
      return { token: 'ok', expiresAt: Date.now() + 6 * HOUR };
    });
    const { client, statuses } = makeClient({ token: { renew } });
    client.start();
    await vi.waitFor(() => expect(statuses.at(-1)).toBe('reconnecting'));
    expect(FakeSource.all).toHaveLength(0);
    fail = false;
    await vi.runOnlyPendingTimersAsync();
    await vi.waitFor(() => expect(FakeSource.all).toHaveLength(1));
    expect(latest().params.get('token')).toBe('ok');
    client.stop();

    let answer: (value: { token: string; expiresAt: number }) => void = () => {};
    const slow = makeClient({ token: { renew: () => new Promise((resolve) => (answer = resolve)) } });
    slow.client.start();
    slow.client.stop();
    answer({ token: 'late', expiresAt: Date.now() + HOUR });
    await Promise.resolve();
    expect(FakeSource.all).toHaveLength(1);
  });
});

describe('RealtimeClient sent away before its stream opened', () => {
  it('backs off (a full or draining tier is not hammered) and does not take it for a refused token', async () => {
    const renew = vi.fn(async () => ({ token: 'renewed', expiresAt: Date.now() + 6 * 3600_000 }));
    const { client } = makeClient({
      token: { current: { token: 't0', expiresAt: Date.now() + 6 * 3600_000 }, renew },
      random: () => 0.99,
    });
    client.start();
    let seen = 0;
    for (let ms = 0; ms < 60_000; ms += 10) {
      if (FakeSource.all.length > seen) {
        // The node's answer when it will not serve: `reconnect` {afterMs: 0}, then the end.
        seen = FakeSource.all.length;
        latest().emit('reconnect', { afterMs: 0 });
        latest().fail();
      }
      await vi.advanceTimersByTimeAsync(10);
    }
    client.stop();
    // Backoff 0.5 s doubling to 30 s: about 9 attempts in a minute, not thousands.
    expect(FakeSource.all.length).toBeLessThan(15);
    expect(renew).not.toHaveBeenCalled();
  });
});
