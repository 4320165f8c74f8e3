import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { ClientStatus, RealtimeClientOptions } from '../src/realtime-client.js';
import { type ChannelLike, SharedRealtimeConnection, type SharedWorkerLike } from '../src/shared-connection.js';
import { type HubClient, SharedHub, type TopicsTokenSource, WORKER_HEARTBEAT_MS } from '../src/shared-hub.js';
import { type RefusedReason, SHARED_PROTOCOL_VERSION, type TabMessage, versionedName } from '../src/shared-protocol.js';
import type { EventEnvelope, UntypedEvents } from '../src/wire.js';
import { FakeBus, FakeLocks } from './fake-browser.js';
import { connect, FakeSource, latest } from './fake-source.js';

/*
 * The connection a browser's tabs share, on the Web Locks path, with the browser played by fakes:
 * a lock manager granting one holder at a time in request order, BroadcastChannels delivering
 * (asynchronously, copied) to every other channel of the name, and EventSources the test answers.
 */

/** Lets every queued message and promise run. */
const settle = async () => {
  for (let i = 0; i < 20; i++) await new Promise((resolve) => setTimeout(resolve, 0));
};

const envelope = (topic: string, id: string, type = 'comment', data: object = { id }): EventEnvelope => ({
  id,
  topic,
  type,
  data: data as Record<string, unknown>,
  ts: Date.now(),
});
const emit = (source: FakeSource, event: EventEnvelope) => source.emit(event.type, event);

let locks: FakeLocks;
let bus: FakeBus;
let tokens: Array<readonly string[]>;
let grantOnly: ((topic: string) => boolean) | undefined;
const token: TopicsTokenSource = async (topics) => {
  tokens.push(topics);
  const granted = grantOnly ? topics.filter(grantOnly) : topics;
  return { token: `t-${tokens.length}`, expiresAt: Date.now() + 3_600_000, topics: granted };
};

interface Tab {
  connection: SharedRealtimeConnection;
  events: EventEnvelope[];
  statuses: Array<[ClientStatus, string | undefined]>;
  resyncs: string[];
  refused: Array<[string, RefusedReason]>;
  leave: () => void;
}

type Fetch = NonNullable<NonNullable<ConstructorParameters<typeof SharedRealtimeConnection>[0]['client']>['fetch']>;

function openTab(topics: string[], types: string[] = [], fetch?: Fetch): Tab {
  let leave = () => {};
  const connection = new SharedRealtimeConnection({
    urls: ['http://a:1'],
    name: 'test',
    worker: null,
    token,
    locks: locks.manager(),
    createChannel: (name) => bus.channel(name),
    lifecycle: { onLeave: (listener) => (leave = listener), onReturn: () => {} },
    client: {
      createEventSource: (url) => new FakeSource(url),
      random: () => 0,
      setTimeout: () => 0,
      clearTimeout: () => {},
      reportLatency: false,
      fetch: fetch ?? (async () => ({ ok: true, status: 200 })),
    },
  });
  const tab: Tab = { connection, events: [], statuses: [], resyncs: [], refused: [], leave: () => leave() };
  connection.subscribe(
    topics,
    {
      onEvent: (event) => tab.events.push(event),
      onStatus: (status, node) => tab.statuses.push([status, node]),
      onResync: (topic) => tab.resyncs.push(topic),
      onRefused: (topic, reason) => tab.refused.push([topic, reason]),
    },
    types,
  );
  return tab;
}

type RecordedTimer = { fn: () => void; ms: number; cleared: boolean };
/** A hub client's timers that only record what was set (a test fires them by hand). */
function recordTimers(timers: RecordedTimer[]) {
  return {
    setTimeout: (fn: () => void, ms: number) => {
      const timer = { fn, ms, cleared: false };
      timers.push(timer);
      return timer;
    },
    clearTimeout: (timer: unknown) => {
      if (timer) (timer as RecordedTimer).cleared = true;
    },
  };
}

const ids = (tab: Tab) => tab.events.map((e) => e.id);

/** A tab gone without a word (crashed, discarded): the browser drops its channel and its locks. */
function crash(tab: Tab): void {
  const internals = tab.connection as unknown as {
    channel: ChannelLike;
    releaseLock?: () => void;
    alive?: { release?: () => void };
  };
  internals.channel.close();
  internals.releaseLock?.();
  internals.alive?.release?.();
}
const open = () => FakeSource.all.filter((s) => !s.closed);

beforeEach(() => {
  FakeSource.all = [];
  locks = new FakeLocks();
  bus = new FakeBus();
  tokens = [];
  grantOnly = undefined;
});

afterEach(() => {
  vi.restoreAllMocks();
  vi.unstubAllGlobals();
});

describe('SharedRealtimeConnection (Web Locks + BroadcastChannel)', () => {
  it('eight tabs: one holds the lock and the only stream; every tab gets every event of its topic once', async () => {
    const tabs = Array.from({ length: 8 }, () => openTab(['video:v1']));
    await settle();
    expect(tabs.filter((t) => t.connection.isLeader)).toHaveLength(1);
    expect(FakeSource.all).toHaveLength(1);
    const source = latest();
    expect(source.params.get('topics')).toBe('video:v1');
    expect(source.params.get('token')).toBe('t-1');
    connect(source);
    for (let i = 1; i <= 5; i++) emit(source, envelope('video:v1', `e${i}`));
    await settle();
    for (const tab of tabs) {
      expect(ids(tab)).toEqual(['e1', 'e2', 'e3', 'e4', 'e5']);
      expect(tab.statuses.at(-1)).toEqual(['open', 'http://a:1']);
    }
  });

  it('the leader leaving: the next tab takes over from the last ids, and the replayed gap arrives once in each tab', async () => {
    const tabs = Array.from({ length: 3 }, () => openTab(['video:v1', 'videos']));
    await settle();
    const [leader, ...rest] = tabs as [Tab, Tab, Tab];
    expect(leader.connection.isLeader).toBe(true);
    const first = latest();
    connect(first);
    emit(first, envelope('video:v1', 'a1'));
    emit(first, envelope('videos', 'l1', 'status', { videoId: 'v1', status: 'live' }));
    emit(first, envelope('video:v1', 'a2'));
    await settle();

    leader.leave();
    await settle();
    expect(first.closed).toBe(true);
    expect(rest.filter((t) => t.connection.isLeader)).toHaveLength(1);
    expect(open()).toHaveLength(1);
    const second = latest();
    expect(second).not.toBe(first);
    // Resumes each topic from its last id: the node replays what was published since.
    expect(second.params.get('lastEventId')?.split(',').sort()).toEqual(['a2', 'l1']);
    expect(second.params.get('topics')?.split(',').sort()).toEqual(['video:v1', 'videos']);
    connect(second, 'c2');
    // The node replays one the tabs had already (an id resumed late), then the gap, then live.
    emit(second, { ...envelope('video:v1', 'a2'), replayed: true });
    emit(second, { ...envelope('video:v1', 'a3'), replayed: true });
    emit(second, envelope('video:v1', 'a4'));
    await settle();
    for (const tab of rest) {
      expect(ids(tab)).toEqual(['a1', 'l1', 'a2', 'a3', 'a4']);
      expect(tab.statuses.at(-1)?.[0]).toBe('open');
    }
  });

  it('a tab that closes without a word (the browser drops its lock) is taken over as well', async () => {
    const tabs = [openTab(['video:v1']), openTab(['video:v1'])];
    await settle();
    const [leader, other] = tabs as [Tab, Tab];
    connect(latest());
    emit(latest(), envelope('video:v1', 'x1'));
    await settle();
    // What a crash leaves: no `bye`; its stream, channel and locks go with it.
    crash(leader);
    latest().close();
    await settle();
    expect(other.connection.isLeader).toBe(true);
    expect(latest().params.get('lastEventId')).toBe('x1');
  });

  it("a tab that crashes (no `bye`): the holder learns it from the tab's own lock and drops its topics", async () => {
    const posts: Array<{ url: string; body: string }> = [];
    const leader = openTab(['video:v1'], [], async (url, init) => {
      posts.push({ url, body: init.body });
      return { ok: true, status: 200 };
    });
    await settle();
    const follower = openTab(['video:v2']);
    await settle();
    connect(latest());
    await settle();
    expect(latest().params.get('topics')?.split(',').sort()).toEqual(['video:v1', 'video:v2']);
    crash(follower);
    await settle();
    expect(leader.connection.isLeader).toBe(true);
    expect(posts.map((p) => [p.url, JSON.parse(p.body).topics])).toEqual([['http://a:1/unsubscribe', ['video:v2']]]);
  });

  it("a topic the connection's token does not grant: a token for the union, and the stream reopens resuming the others", async () => {
    const a = openTab(['video:v1']);
    await settle();
    connect(latest());
    emit(latest(), envelope('video:v1', 'v1-1'));
    await settle();
    const b = openTab(['video:v2']);
    await settle();
    expect(tokens.map((t) => [...t].sort())).toEqual([['video:v1'], ['video:v1', 'video:v2']]);
    expect(open()).toHaveLength(1);
    const source = latest();
    expect(source.params.get('topics')?.split(',').sort()).toEqual(['video:v1', 'video:v2']);
    expect(source.params.get('lastEventId')).toBe('v1-1');
    expect(source.params.get('token')).toBe('t-2');
    connect(source, 'c2');
    emit(source, envelope('video:v2', 'v2-1'));
    emit(source, envelope('video:v1', 'v1-2'));
    await settle();
    expect(ids(a)).toEqual(['v1-1', 'v1-2']);
    expect(ids(b)).toEqual(['v2-1']);
  });

  it('a topic the issuer will not grant (a deleted video) stays out of the stream; the others carry on', async () => {
    grantOnly = (topic) => topic !== 'video:gone';
    openTab(['video:v1']);
    openTab(['video:gone']);
    await settle();
    expect(open()).toHaveLength(1);
    expect(latest().params.get('topics')).toBe('video:v1');
  });

  it("a tab joining a topic the stream has is handed the topic's state as of now (a snapshot only for it), then its events", async () => {
    const a = openTab(['video:v1']);
    await settle();
    connect(latest());
    emit(latest(), envelope('video:v1', 's1', 'snapshot', { viewers: 0, likes: 1, status: 'live' }));
    emit(latest(), envelope('video:v1', 'w1', 'viewers', { count: 1 }));
    emit(latest(), envelope('video:v1', 'k1', 'like', { count: 2, total: 3 }));
    emit(latest(), envelope('video:v1', 'k2', 'like', { count: 4 }));
    await settle();
    const b = openTab(['video:v1']);
    await settle();
    emit(latest(), envelope('video:v1', 'c1'));
    await settle();
    expect(ids(a)).toEqual(['s1', 'w1', 'k1', 'k2', 'c1']);
    // The count and total changed after the node's snapshot: b gets them as they are now, as of k2.
    expect(b.events.map(({ id, type, data }) => ({ id, type, data }))).toEqual([
      { id: 'k2', type: 'snapshot', data: { viewers: 1, likes: 7, reactions: { like: 7 }, status: 'live' } },
      { id: 'c1', type: 'comment', data: { id: 'c1' } },
    ]);
    expect(FakeSource.all).toHaveLength(1);

    // A second subscriber in b's tab: the tab hands it the state itself (b's wants did not change).
    const later: EventEnvelope[] = [];
    b.connection.subscribe(['video:v1'], { onEvent: (event) => later.push(event) });
    expect(later.map(({ id, type, data }) => ({ id, type, data }))).toEqual([
      { id: 'c1', type: 'snapshot', data: { viewers: 1, likes: 7, reactions: { like: 7 }, status: 'live' } },
    ]);
  });

  it('no state is handed over before the node has told it, nor after a resync until its next snapshot', async () => {
    const a = openTab(['video:v1']);
    await settle();
    connect(latest());
    // A count alone (no like total yet): nothing to hand over.
    emit(latest(), envelope('video:v1', 'w1', 'viewers', { count: 2 }));
    await settle();
    const b = openTab(['video:v1']);
    await settle();
    expect(b.events).toEqual([]);
    emit(latest(), envelope('video:v1', 's1', 'snapshot', { viewers: 2, likes: 5 }));
    latest().emit('resync', { topic: 'video:v1', reason: 'too_old' });
    // An event after the resync gives the topic a resume point again, but tells no state.
    emit(latest(), envelope('video:v1', 'c1'));
    await settle();
    const c = openTab(['video:v1']);
    await settle();
    expect(ids(c)).toEqual([]);
    expect(ids(a)).toEqual(['w1', 's1', 'c1']);
    // Nor does a's tab hand its own second subscriber a state from before the resync.
    const later: EventEnvelope[] = [];
    a.connection.subscribe(['video:v1'], { onEvent: (event) => later.push(event) });
    expect(later).toEqual([]);
  });

  it('a topic the issuer stops granting (a video made private) keeps no state to hand over', async () => {
    const a = openTab(['video:v1']);
    await settle();
    connect(latest());
    emit(latest(), envelope('video:v1', 's1', 'snapshot', { viewers: 2, likes: 5 }));
    await settle();
    // Another topic needs a new token, which no longer grants video:v1.
    grantOnly = (topic) => topic !== 'video:v1';
    openTab(['video:v2']);
    await settle();
    expect(latest().params.get('topics')).toBe('video:v2');
    const late = openTab(['video:v1']);
    await settle();
    expect(late.events).toEqual([]);
    expect(late.refused).toEqual([['video:v1', 'not_granted']]);
    expect(a.refused).toEqual([['video:v1', 'not_granted']]);
  });

  it("a node's gap repair (a like and a snapshot under one id) reaches every tab whole", async () => {
    const a = openTab(['video:v1']);
    const b = openTab(['video:v1']);
    await settle();
    connect(latest());
    emit(latest(), envelope('video:v1', 'g1', 'like', { count: 3 }));
    emit(latest(), envelope('video:v1', 'g1', 'snapshot', { viewers: 1, likes: 9 }));
    await settle();
    for (const tab of [a, b]) expect(tab.events.map((e) => `${e.type}:${e.id}`)).toEqual(['like:g1', 'snapshot:g1']);
  });

  it("a resync reaches the topic's tabs, and a tab's types filter what it is handed", async () => {
    const comments = openTab(['video:v1'], ['comment']);
    const all = openTab(['video:v1']);
    await settle();
    connect(latest());
    emit(latest(), envelope('video:v1', 'k1', 'like', { count: 1 }));
    emit(latest(), envelope('video:v1', 'c1'));
    latest().emit('resync', { topic: 'video:v1', reason: 'too_old' });
    await settle();
    expect(ids(comments)).toEqual(['c1']);
    expect(ids(all)).toEqual(['k1', 'c1']);
    expect(comments.resyncs).toEqual(['video:v1']);
    expect(all.resyncs).toEqual(['video:v1']);
  });

  it('the last subscription of every tab gone: the stream closes', async () => {
    const tab = openTab(['video:v1']);
    await settle();
    const source = latest();
    const unsubscribe = tab.connection.subscribe(['video:v2'], { onEvent: () => {} });
    await settle();
    unsubscribe();
    tab.leave();
    await settle();
    expect(source.closed).toBe(true);
    expect(open()).toHaveLength(0);
  });

  it('a SharedWorker that cannot start: the tab falls back to Web Locks', async () => {
    let worker: SharedWorkerLike | undefined;
    const connection = new SharedRealtimeConnection({
      urls: ['http://a:1'],
      name: 'test',
      worker: () => {
        worker = { port: { postMessage: () => {}, onmessage: null }, onerror: null };
        return worker;
      },
      token,
      locks: locks.manager(),
      createChannel: (name) => bus.channel(name),
      lifecycle: { onLeave: () => {}, onReturn: () => {} },
      client: { createEventSource: (url) => new FakeSource(url), setTimeout: () => 0, clearTimeout: () => {} },
    });
    connection.subscribe(['video:v1'], { onEvent: () => {} });
    expect(connection.transport).toBe('worker');
    (worker?.onerror as ((event: unknown) => void) | null)?.({});
    await settle();
    expect(connection.transport).toBe('locks');
    expect(connection.isLeader).toBe(true);
    expect(FakeSource.all).toHaveLength(1);
  });
  it('a SharedWorker that dies (no beat for three intervals): its tabs say reconnecting and take over from their last ids', async () => {
    // A fake clock: the tab's timers run when the test moves the time on.
    let now = 0;
    const timers: Array<{ fn: () => void; at: number; ms: number; cleared: boolean }> = [];
    const advance = (ms: number) => {
      const until = now + ms;
      for (;;) {
        const due = timers.filter((t) => !t.cleared && t.at <= until).sort((a, b) => a.at - b.at)[0];
        if (!due) break;
        now = due.at;
        due.cleared = true;
        due.fn();
      }
      now = until;
    };
    const client = {
      createEventSource: (url: string) => new FakeSource(url),
      random: () => 0,
      reportLatency: false,
      fetch: async () => ({ ok: true, status: 200 }),
      now: () => now,
      setTimeout: (fn: () => void, ms: number) => {
        const timer = { fn, at: now + ms, ms, cleared: false };
        timers.push(timer);
        return timer;
      },
      clearTimeout: (timer: unknown) => {
        if (timer) (timer as { cleared: boolean }).cleared = true;
      },
    };
    const ports: Array<{ onmessage: ((event: { data: unknown }) => void) | null; posted: unknown[] }> = [];
    const tabs = ['a', 'b'].map((id) => {
      const statuses: Array<[ClientStatus, string | undefined]> = [];
      const events: string[] = [];
      const connection = new SharedRealtimeConnection({
        urls: ['http://a:1', 'http://b:2'],
        name: 'test',
        tabId: id,
        worker: () => {
          const port = { posted: [] as unknown[], onmessage: null, postMessage: (m: unknown) => port.posted.push(m) };
          ports.push(port);
          return { port, onerror: null };
        },
        token,
        locks: locks.manager(),
        createChannel: (name) => bus.channel(name),
        lifecycle: { onLeave: () => {}, onReturn: () => {} },
        client,
      });
      connection.subscribe(['video:v1'], {
        onEvent: (event) => events.push(event.id),
        onStatus: (status, node) => statuses.push([status, node]),
      });
      return { connection, statuses, events };
    });
    await settle();
    const fromWorker = (message: object) => {
      for (const port of ports) port.onmessage?.({ data: { v: SHARED_PROTOCOL_VERSION, ...message } });
    };
    fromWorker({ t: 'status', status: 'open', node: 'http://b:2' });
    fromWorker({ t: 'event', event: envelope('video:v1', 'e1') });
    fromWorker({ t: 'event', event: envelope('video:v1', 'e2') });
    // The worker beats: the tabs stay on it, however long.
    for (let i = 0; i < 6; i++) {
      advance(WORKER_HEARTBEAT_MS);
      fromWorker({ t: 'beat' });
    }
    await settle();
    for (const tab of tabs) expect(tab.connection.transport).toBe('worker');
    expect(FakeSource.all).toHaveLength(0);
    // Then it dies: nothing more from it.
    advance(2 * WORKER_HEARTBEAT_MS);
    for (const tab of tabs) expect(tab.connection.transport).toBe('worker');
    advance(2 * WORKER_HEARTBEAT_MS);
    await settle();
    for (const tab of tabs) {
      expect(tab.connection.transport).toBe('locks');
      // Told at once (then the new hub's own statuses follow).
      const opened = tab.statuses.findIndex(([status]) => status === 'open');
      expect(tab.statuses[opened + 1]).toEqual(['reconnecting', 'http://b:2']);
      expect(tab.events).toEqual(['e1', 'e2']);
    }
    // One tab holds the stream, on the node the worker's used, resuming from the last id.
    expect(tabs.filter((t) => t.connection.isLeader)).toHaveLength(1);
    expect(open()).toHaveLength(1);
    expect(latest().node).toBe('http://b:2');
    expect(latest().params.get('lastEventId')).toBe('e2');
    // The dead worker's ports are left: a late message from it is not acted on.
    fromWorker({ t: 'event', event: envelope('video:v1', 'late') });
    connect(latest());
    emit(latest(), envelope('video:v1', 'e3'));
    await settle();
    for (const tab of tabs) expect(tab.events).toEqual(['e1', 'e2', 'e3']);
    for (const tab of tabs) tab.connection.close();
    await settle();
    expect(open()).toHaveLength(0);
  });

  it('a dead SharedWorker where there are no Web Locks: the tab holds a stream of its own', async () => {
    // No navigator.locks in this "browser" (Node may have one).
    vi.stubGlobal('navigator', {});
    let now = 0;
    const timers: Array<{ fn: () => void; at: number }> = [];
    const connection = new SharedRealtimeConnection({
      urls: ['http://a:1'],
      name: 'test',
      worker: () => ({ port: { postMessage: () => {}, onmessage: null }, onerror: null }),
      token,
      locks: undefined,
      createChannel: undefined,
      lifecycle: { onLeave: () => {}, onReturn: () => {} },
      client: {
        createEventSource: (url) => new FakeSource(url),
        now: () => now,
        setTimeout: (fn, ms) => timers.push({ fn, at: now + ms }),
        clearTimeout: () => {},
      },
    });
    const statuses: ClientStatus[] = [];
    connection.subscribe(['video:v1'], { onEvent: () => {}, onStatus: (status) => statuses.push(status) });
    now = 4 * WORKER_HEARTBEAT_MS;
    for (const timer of timers.splice(0)) if (timer.at <= now) timer.fn();
    await settle();
    expect(statuses).toContain('reconnecting');
    expect(connection.transport).toBe('own');
    expect(connection.isLeader).toBe(true);
    expect(open()).toHaveLength(1);
    connection.close();
    expect(open()).toHaveLength(0);
  });

  it('a quiet topic joined late: the hub hands the tab its resume point, and the tab resumes from it when it takes over', async () => {
    // Without the hub's points, B would know no id for video:v1 (the snapshot came before it
    // joined and nothing was published since): it would reconnect with no lastEventId and miss
    // what was published while no tab held the stream.
    const a = openTab(['video:v1']);
    await settle();
    connect(latest());
    emit(latest(), envelope('video:v1', 's1', 'snapshot', { viewers: 1, likes: 0 }));
    await settle();
    const b = openTab(['video:v1']);
    await settle();
    // Handed the hub's state (a snapshot as of s1), no event of the stream.
    expect(b.events.map((e) => [e.type, e.id])).toEqual([['snapshot', 's1']]);
    a.leave();
    await settle();
    expect(b.connection.isLeader).toBe(true);
    expect(open()).toHaveLength(1);
    expect(latest().params.get('lastEventId')).toBe('s1');
  });

  it('one tab on a malformed topic, or one tab too many videos: the others are carried, and that tab is told', async () => {
    const good = openTab(['video:v1']);
    const bad = openTab([`video:${'x'.repeat(65)}`, 'video:a%20b', 'video:a,b', 'video:v1']);
    await settle();
    expect(tokens.map((t) => [...t])).toEqual([['video:v1']]);
    expect(latest().params.get('topics')).toBe('video:v1');
    expect(bad.refused.map(([topic, reason]) => [topic.slice(0, 12), reason])).toEqual([
      ['video:xxxxxx', 'invalid'],
      ['video:a%20b', 'invalid'],
      ['video:a,b', 'invalid'],
    ]);
    expect(good.refused).toEqual([]);

    const many = Array.from({ length: 70 }, (_, i) => `video:m${i}`);
    const greedy = openTab(many);
    await settle();
    const asked = tokens.at(-1) ?? [];
    expect(asked).toHaveLength(63);
    expect(asked).toContain('video:v1');
    expect(greedy.refused.filter(([, reason]) => reason === 'too_many')).toHaveLength(8);
    expect(latest().params.get('topics')?.split(',')).toHaveLength(63);
  });

  it("messages of another build or malformed are dropped, never thrown on; events are checked like a stream's", async () => {
    const tab = openTab(['video:v1']);
    const errors: unknown[] = [];
    const onError = (error: unknown) => errors.push(error);
    process.on('unhandledRejection', onError);
    await settle();
    connect(latest());
    const stranger = bus.channel(versionedName('test'));
    const v = SHARED_PROTOCOL_VERSION;
    stranger.postMessage({ v, t: 'want', tab: 'x', topics: [123], types: [], lastIds: {} });
    stranger.postMessage({ v, t: 'want', tab: 'y', topics: 'video:v2', types: [], lastIds: {} });
    stranger.postMessage({ v, t: 'want', tab: 'z', topics: ['video:v3'], types: [], lastIds: [] });
    stranger.postMessage({ t: 'want', tab: 'old', topics: ['video:v4'], types: [], lastIds: {} });
    stranger.postMessage({ v, t: 'event' });
    stranger.postMessage({ v, t: 'event', event: { id: 'e1', topic: 'video:v1', type: 'comment', data: 'x', ts: 1 } });
    stranger.postMessage({ v, t: 'status', status: 'hacked' });
    stranger.postMessage({ v, t: 'points', lastIds: { 'video:v1': 'a,b' } });
    // A forged state for this very tab: only what checks out as counts reaches a subscriber (here nothing).
    stranger.postMessage({
      v,
      t: 'state',
      tab: tab.connection.tabId,
      event: { id: 'f1', topic: 'video:v1', type: 'snapshot', data: { viewers: 'x', likes: 1e308 }, ts: 1 },
    });
    stranger.postMessage(null);
    stranger.postMessage('want');
    await settle();
    process.off('unhandledRejection', onError);
    expect(errors).toEqual([]);
    expect(tokens).toHaveLength(1);
    expect(open()).toHaveLength(1);
    expect(tab.events).toEqual([]);
    expect(tab.statuses.at(-1)?.[0]).toBe('open');
    // The tab keeps no malformed resume point: a takeover resumes with a well-formed lastEventId.
    expect((tab.connection as unknown as { lastIds: Map<string, string> }).lastIds.get('video:v1')).toBeUndefined();
    // A well-formed event from the hub is delivered.
    stranger.postMessage({ v, t: 'event', event: envelope('video:v1', 'e2') });
    await settle();
    expect(ids(tab)).toEqual(['e2']);
  });

  it('tabs of another protocol version never share: the lock and the channel carry the version', async () => {
    openTab(['video:v1']);
    await settle();
    const names = new Set<string>();
    const manager = locks.manager();
    const spy = {
      request: (name: string, options: { signal?: AbortSignal }, cb: () => Promise<void>) => {
        names.add(name);
        return manager.request(name, options, cb);
      },
    };
    const other = new SharedRealtimeConnection({
      urls: ['http://a:1'],
      name: 'test',
      worker: null,
      token,
      locks: spy,
      createChannel: (name) => {
        names.add(name);
        return bus.channel(name);
      },
      lifecycle: { onLeave: () => {}, onReturn: () => {} },
    });
    other.subscribe(['video:v1'], { onEvent: () => {} });
    await settle();
    expect([...names].every((name) => name.startsWith(`test#v${SHARED_PROTOCOL_VERSION}`))).toBe(true);
    other.close();
  });
});

describe('SharedHub: token retries, resume points, node', () => {
  function hubWith(tokenSource: TopicsTokenSource, extra: Partial<ConstructorParameters<typeof SharedHub>[0]> = {}) {
    const timers: RecordedTimer[] = [];
    const made: Array<RealtimeClientOptions<UntypedEvents>> = [];
    const hub = new SharedHub({
      ...extra,
      urls: ['http://a:1', 'http://b:2'],
      send: () => {},
      token: tokenSource,
      client: {
        random: () => 1,
        ...recordTimers(timers),
      },
      createClient: (options) => {
        made.push(options);
        return {
          start: () => {},
          stop: () => {},
          subscribe: async () => {},
          unsubscribe: async () => {},
          on: () => () => {},
          resumePoints: {},
        } satisfies HubClient;
      },
    });
    const pending = () => timers.filter((t) => !t.cleared);
    const fire = async () => {
      const timer = pending()[0];
      if (timer) {
        timer.cleared = true;
        timer.fn();
      }
      await hub.settled();
      await settle();
    };
    return { hub, timers, pending, fire, made };
  }
  const want = (tab: string, topics: string[]): Extract<TabMessage, { t: 'want' }> => ({
    v: SHARED_PROTOCOL_VERSION,
    t: 'want',
    tab,
    topics,
    types: [],
    lastIds: {},
  });

  it('a failing token fetch: one retry at a time, with growing backoff; more tabs do not add fetches', async () => {
    let calls = 0;
    const { hub, pending, fire } = hubWith(async () => {
      calls += 1;
      throw new Error('down');
    });
    hub.want(want('a', ['video:v1']));
    hub.want(want('b', ['video:v2']));
    hub.want(want('c', ['video:v3']));
    await hub.settled();
    await settle();
    expect(calls).toBe(1);
    expect(pending().map((t) => t.ms)).toEqual([1_000]);
    hub.bye('c');
    await hub.settled();
    expect(calls).toBe(1);
    await fire();
    expect(calls).toBe(2);
    expect(pending().map((t) => t.ms)).toEqual([2_000]);
    await fire();
    await fire();
    expect(calls).toBe(4);
    expect(pending().map((t) => t.ms)).toEqual([8_000]);
    hub.stop();
    expect(pending()).toEqual([]);
  });

  it('honours Retry-After of a 429 or 503, and starts over after a success', async () => {
    let calls = 0;
    const { hub, pending, fire } = hubWith(async (topics) => {
      calls += 1;
      if (calls === 1) throw Object.assign(new Error('busy'), { status: 429, retryAfterMs: 45_000 });
      return { token: 't', expiresAt: Date.now() + 3_600_000, topics };
    });
    hub.want(want('a', ['video:v1']));
    await hub.settled();
    await settle();
    expect(pending().map((t) => t.ms)).toEqual([45_000]);
    await fire();
    expect(calls).toBe(2);
    expect(pending()).toEqual([]);
  });

  it('a viewer new to the hub (a guest who signed in) reopens the stream with a new token, resuming; tabs that lag behind do not make it flap', async () => {
    let fetches = 0;
    const { hub, made } = hubWith(async (topics) => {
      fetches += 1;
      return { token: `t${fetches}`, expiresAt: Date.now() + 3_600_000, topics };
    });
    hub.want({ ...want('a', ['video:v1']), identity: 'guest', lastIds: { 'video:v1': 'i1' } });
    hub.want({ ...want('b', ['video:v1']), identity: 'guest' });
    await hub.settled();
    expect([fetches, made.length]).toEqual([1, 1]);
    // Tab a's viewer signs in: a new token (it names them), the stream opened again from i1.
    hub.want({ ...want('a', ['video:v1']), identity: 'u-ann' });
    await hub.settled();
    await settle();
    expect([fetches, made.length]).toEqual([2, 2]);
    expect(made[1]?.lastEventIds).toEqual({ 'video:v1': 'i1' });
    // Tab b still says guest for a moment, then catches up: nothing more.
    hub.want({ ...want('b', ['video:v1']), identity: 'guest' });
    hub.want({ ...want('b', ['video:v1']), identity: 'u-ann' });
    await hub.settled();
    await settle();
    expect([fetches, made.length]).toEqual([2, 2]);
  });

  it('a topic no tab wants any more loses its resume point', async () => {
    const { hub } = hubWith(async (topics) => ({ token: 't', expiresAt: Date.now() + 3_600_000, topics }));
    hub.want({ ...want('a', ['video:v1', 'video:v2']), lastIds: { 'video:v1': 'i1', 'video:v2': 'i2' } });
    await hub.settled();
    expect(hub.resumePoints).toEqual({ 'video:v1': 'i1', 'video:v2': 'i2' });
    hub.want(want('a', ['video:v1']));
    await hub.settled();
    expect(hub.resumePoints).toEqual({ 'video:v1': 'i1' });
  });

  it("a stream opened again (a takeover, a new token) goes to the node the last one used: its resume points are that region's", async () => {
    const grant: TopicsTokenSource = async (topics) => ({ token: 't', expiresAt: Date.now() + 3_600_000, topics });
    const { hub, made } = hubWith(grant);
    hub.want(want('a', ['video:v1']));
    await hub.settled();
    expect(made[0]?.preferredUrl).toBeUndefined();
    made[0]?.onStatus?.('open', { nodeUrl: 'http://b:2', attempt: 0 });
    hub.want(want('b', ['video:v2']));
    await hub.settled();
    expect(made).toHaveLength(2);
    expect(made[1]?.preferredUrl).toBe('http://b:2');
    // A tab taking over starts from the node of the last status it had.
    const next = hubWith(grant, { lastNode: 'http://b:2', preferredUrl: 'http://a:1' });
    next.hub.want(want('a', ['video:v1']));
    await next.hub.settled();
    expect(next.made[0]?.preferredUrl).toBe('http://b:2');
  });

  it("a worker's hub beats every WORKER_HEARTBEAT_MS until it stops", async () => {
    const sent: string[] = [];
    const timers: RecordedTimer[] = [];
    const hub = new SharedHub({
      urls: ['http://a:1'],
      send: (message) => sent.push(message.t),
      heartbeatMs: WORKER_HEARTBEAT_MS,
      client: {
        ...recordTimers(timers),
      },
    });
    const pending = () => timers.filter((t) => !t.cleared);
    for (let i = 0; i < 3; i++) {
      expect(pending().map((t) => t.ms)).toEqual([WORKER_HEARTBEAT_MS]);
      const timer = pending()[0] as (typeof timers)[number];
      timer.cleared = true;
      timer.fn();
    }
    expect(sent).toEqual(['beat', 'beat', 'beat']);
    hub.stop();
    expect(pending()).toEqual([]);
  });

  it("the node list is the newest token answer's (REALTIME_URLS changed): the next (re)connection uses it", async () => {
    const lists = [['http://c:3'], ['http://d:4', 'http://e:5']];
    let calls = 0;
    const { hub, made } = hubWith(async (topics) => {
      const realtimeUrls = lists[calls] ?? [];
      calls += 1;
      return { token: `t${calls}`, expiresAt: Date.now() + 3_600_000, topics, realtimeUrls };
    });
    hub.want(want('a', ['video:v1']));
    await hub.settled();
    // The first token's nodes, not the settings' (a, b).
    expect(made[0]?.urls).toEqual(['http://c:3']);
    // A renewal with other nodes: the open client's next reconnection goes there (same array).
    const renew = (made[0]?.token as { renew: () => Promise<unknown> } | undefined)?.renew ?? (async () => {});
    await renew();
    expect(made[0]?.urls).toEqual(['http://d:4', 'http://e:5']);
    expect(hub.realtimeUrls).toEqual(['http://d:4', 'http://e:5']);
    // An answer without a usable list keeps the last one.
    await renew();
    expect(hub.realtimeUrls).toEqual(['http://d:4', 'http://e:5']);
    // A stream opened again (a token for new topics) uses the newest too.
    hub.want(want('b', ['video:v2']));
    await hub.settled();
    expect(made).toHaveLength(2);
    expect(made[1]?.urls).toEqual(['http://d:4', 'http://e:5']);
  });

  it('without a way to watch tabs (a worker without Web Locks), a tab silent for too long is dropped; heartbeats keep it', async () => {
    let now = 0;
    const sweeps: Array<() => void> = [];
    const posts: string[][] = [];
    let stopped = false;
    const hub = new SharedHub({
      urls: ['http://a:1'],
      send: () => {},
      token: async (topics) => ({ token: 't', expiresAt: Date.now() + 3_600_000, topics }),
      expireTabsAfterMs: 60_000,
      client: { now: () => now, setTimeout: (fn) => sweeps.push(fn), clearTimeout: () => {} },
      createClient: () => ({
        start: () => {},
        stop: () => {
          stopped = true;
        },
        subscribe: async () => {},
        unsubscribe: async (topics) => {
          posts.push([...topics]);
        },
        on: () => () => {},
        resumePoints: {},
      }),
    });
    hub.want(want('a', ['video:v1']));
    hub.want(want('b', ['video:v2']));
    await hub.settled();
    const sweep = async () => {
      sweeps.shift()?.();
      await hub.settled();
    };
    now = 40_000;
    hub.want(want('a', ['video:v1']));
    now = 70_000;
    await sweep();
    expect(posts).toEqual([['video:v2']]);
    expect(stopped).toBe(false);
    now = 130_000;
    await sweep();
    // The last tab gone: the stream closes.
    expect(stopped).toBe(true);
  });
});
