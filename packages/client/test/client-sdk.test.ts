import { afterEach, beforeEach, describe, expect, expectTypeOf, it, vi } from 'vitest';
import {
  type Comment,
  type FetchLike,
  type LikePayload,
  type OvationEvents,
  RealtimeClient,
  type RealtimeClientOptions,
  type TypedEvent,
  tokenForTopics,
  tokenFromWeb,
} from '../src/index.js';
import { connect, FakeSource, latest } from './fake-source.js';

const URLS = ['http://a:1', 'http://b:2'];
const MINUTE = 60_000;

function makeClient<M extends object = OvationEvents>(extra: Partial<RealtimeClientOptions<NoInfer<M>>> = {}) {
  return new RealtimeClient<M>({
    urls: URLS,
    topics: ['video:1'],
    createEventSource: (url) => new FakeSource(url),
    random: () => 0.5,
    reportLatency: false,
    ...extra,
  });
}

const envelope = (id: string, type: string, data: object, topic = 'video:1') => ({ id, topic, type, data, ts: 0 });

beforeEach(() => {
  FakeSource.all = [];
  vi.useFakeTimers();
});

afterEach(() => {
  vi.useRealTimers();
});

describe('construction', () => {
  it('says at once when there is no EventSource to use (Node without one passed)', () => {
    expect('EventSource' in globalThis).toBe(false);
    expect(() => new RealtimeClient({ urls: URLS })).toThrow('pass createEventSource');
    expect(() => new RealtimeClient({ urls: [] })).toThrow('at least one realtime URL');
  });
});

describe('token renewal', () => {
  it('renews in the background before the token expires, without dropping the open stream', async () => {
    let n = 0;
    const renew = vi.fn(async () => ({ token: `t${++n}`, expiresAt: Date.now() + 30 * MINUTE }));
    const client = makeClient({
      token: { current: { token: 't0', expiresAt: Date.now() + 10 * MINUTE }, renew },
      silenceTimeoutMs: 60 * MINUTE,
    });
    client.start();
    const first = latest();
    expect(first.params.get('token')).toBe('t0');
    connect(first);
    await vi.advanceTimersByTimeAsync(5 * MINUTE - 1_000);
    expect(renew).not.toHaveBeenCalled();
    await vi.advanceTimersByTimeAsync(1_000); // 5 minutes before expiry
    expect(renew).toHaveBeenCalledTimes(1);
    expect(first.closed).toBe(false);
    expect(FakeSource.all).toHaveLength(1);
    // The next move (a drop) uses the renewed token at once, without asking the web tier again.
    first.fail();
    await vi.advanceTimersByTimeAsync(1_000);
    expect(latest()).not.toBe(first);
    expect(latest().params.get('token')).toBe('t1');
    expect(renew).toHaveBeenCalledTimes(1);
    // And the renewed token is renewed in turn, 5 minutes before it expires.
    connect(latest());
    await vi.advanceTimersByTimeAsync(24 * MINUTE);
    expect(renew).toHaveBeenCalledTimes(1);
    await vi.advanceTimersByTimeAsync(MINUTE);
    expect(renew).toHaveBeenCalledTimes(2);
    client.stop();
  });

  it('renews at once after a 401, where the EventSource shows the status', async () => {
    const renew = vi.fn(async () => ({ token: 'renewed', expiresAt: Date.now() + 60 * MINUTE }));
    const client = makeClient({ token: { current: { token: 'revoked', expiresAt: Date.now() + 60 * MINUTE }, renew } });
    client.start();
    latest().fail({ code: 401, message: 'Unauthorized' });
    await vi.advanceTimersByTimeAsync(1_000);
    expect(renew).toHaveBeenCalledTimes(1);
    expect(latest().params.get('token')).toBe('renewed');

    // Any other refusal counts as an unexplained failure: one alone does not renew.
    latest().fail({ code: 503 });
    await vi.advanceTimersByTimeAsync(1_000);
    expect(renew).toHaveBeenCalledTimes(1);
    client.stop();
  });

  it('tokenFromWeb asks GET /api/realtime-token for the video and refuses an answer without a token', async () => {
    const asked: string[] = [];
    const answers = [
      new Response(JSON.stringify({ token: 'tk', expiresAt: 123, realtimeUrls: ['http://a:1'] })),
      new Response(JSON.stringify({ expiresAt: 123 })),
      new Response('{}', { status: 401 }),
    ];
    const source = tokenFromWeb({
      baseUrl: 'https://ovation.example',
      videoId: 'v 1',
      fetch: async (url) => {
        asked.push(url);
        return answers.shift() as Response;
      },
    });
    expect(source.current).toBeUndefined();
    await expect(source.renew()).resolves.toEqual({ token: 'tk', expiresAt: 123 });
    expect(asked).toEqual(['https://ovation.example/api/realtime-token?videoId=v%201']);
    await expect(source.renew()).rejects.toThrow('without a token');
    await expect(source.renew()).rejects.toMatchObject({ status: 401 });
  });

  it("tokenForTopics (a shared connection's) asks for a videoId per video topic and returns what was granted", async () => {
    const asked: string[] = [];
    const answers = [
      new Response(
        JSON.stringify({ token: 'tk', expiresAt: 9, realtimeUrls: ['http://n:1'], topics: ['videos', 'video:a'] }),
      ),
      new Response(JSON.stringify({ token: 'old', expiresAt: 9, realtimeUrls: [] })),
    ];
    const forTopics = tokenForTopics({
      fetch: async (url) => {
        asked.push(url);
        return answers.shift() as Response;
      },
    });
    await expect(forTopics(['videos', 'video:a', 'video:gone'])).resolves.toEqual({
      token: 'tk',
      expiresAt: 9,
      // The nodes as of this answer: the hub's next (re)connection uses them.
      realtimeUrls: ['http://n:1'],
      topics: ['videos', 'video:a'],
    });
    // A web tier that does not say what it granted: all that was asked for.
    await expect(forTopics(['videos'])).resolves.toEqual({ token: 'old', expiresAt: 9, realtimeUrls: [] });
    expect(asked).toEqual(['/api/realtime-token?videoId=a&videoId=gone&shared=1', '/api/realtime-token?shared=1']);
  });

  it('tokenForTopics always asks leniently (shared=1) and only for well-formed ids, at most 63', async () => {
    const asked: URL[] = [];
    const forTopics = tokenForTopics({
      fetch: async (url) => {
        asked.push(new URL(url, 'http://web'));
        return new Response(JSON.stringify({ token: 'tk', expiresAt: 9, realtimeUrls: [] }));
      },
    });
    // One id: the single-id form would 404 an unknown video; shared=1 leaves it out instead.
    await forTopics(['video:only']);
    expect(asked[0]?.searchParams.getAll('videoId')).toEqual(['only']);
    expect(asked[0]?.searchParams.get('shared')).toBe('1');
    const many = Array.from({ length: 70 }, (_, i) => `video:v${i}`);
    await forTopics([`video:${'x'.repeat(65)}`, 'video:a b', 'video:a%20b', 'video:', ...many]);
    expect(asked[1]?.searchParams.getAll('videoId')).toEqual(many.slice(0, 63).map((t) => t.slice(6)));
  });

  it('a 429 or 503 says how long to wait (Retry-After, seconds or a date)', async () => {
    const answer = (status: number, retryAfter: string) =>
      new Response('{}', { status, headers: { 'retry-after': retryAfter } });
    const answers = [answer(429, '7'), answer(503, new Date(Date.now() + 60_000).toUTCString()), answer(500, '7')];
    const forTopics = tokenForTopics({ fetch: async () => answers.shift() as Response });
    await expect(forTopics([])).rejects.toMatchObject({ status: 429, retryAfterMs: 7_000 });
    const error = (await forTopics([]).catch((e: unknown) => e)) as { retryAfterMs: number };
    expect(error.retryAfterMs).toBeGreaterThan(50_000);
    await expect(forTopics([])).rejects.toMatchObject({ status: 500, retryAfterMs: undefined });
  });
});

describe('typed events', () => {
  it('hands each handler the events of its type, data typed by the event map', () => {
    const client = makeClient({ eventTypes: ['comment'] });
    const likes: number[] = [];
    const comments: string[] = [];
    client.on('like', (event) => {
      expectTypeOf(event.data).toEqualTypeOf<LikePayload>();
      likes.push(event.data.count);
    });
    const stopComments = client.on('comment', (event) => {
      expectTypeOf(event).toEqualTypeOf<TypedEvent<OvationEvents, 'comment'>>();
      expectTypeOf(event.data).toEqualTypeOf<Comment>();
      comments.push(event.data.text);
    });
    client.start();
    const source = latest();
    connect(source);
    source.emit('like', envelope('1', 'like', { count: 3 }));
    source.emit('comment', envelope('2', 'comment', { id: 'c', text: 'hi' }));
    // A frame whose envelope names another type than its event name is not trusted.
    source.emit('like', envelope('3', 'comment', { count: 9 }));
    stopComments();
    source.emit('comment', envelope('4', 'comment', { id: 'd', text: 'gone' }));
    expect(likes).toEqual([3]);
    expect(comments).toEqual(['hi']);
    client.stop();
  });

  it('listens on the open stream to a type added by on() after start, and takes a custom event map', () => {
    interface QuizEvents {
      question: { text: string; choices: string[] };
      answer: { choice: number };
    }
    const all: string[] = [];
    const client = makeClient<QuizEvents>({ eventTypes: ['question'], onEvent: (e) => all.push(e.type) });
    client.start();
    const source = latest();
    connect(source);
    const answers: number[] = [];
    client.on('answer', (event) => {
      expectTypeOf(event.data).toEqualTypeOf<{ choice: number }>();
      answers.push(event.data.choice);
    });
    source.emit('question', envelope('1', 'question', { text: '?', choices: ['a'] }));
    source.emit('answer', envelope('2', 'answer', { choice: 1 }));
    expect(answers).toEqual([1]);
    expect(all).toEqual(['question', 'answer']);
    // @ts-expect-error: not a type of the map
    client.on('like', () => {});
    client.stop();
  });
});

describe('several topics', () => {
  it('resumes each topic from its own last id, and a resync forgets only its topic', () => {
    const resynced: string[] = [];
    const client = makeClient({ topics: ['video:1', 'video:2'], onResync: (topic) => resynced.push(topic) });
    client.start();
    const first = latest();
    expect(first.params.get('topics')).toBe('video:1,video:2');
    connect(first);
    first.emit('like', envelope('a1', 'like', { count: 1 }, 'video:1'));
    first.emit('like', envelope('b1', 'like', { count: 1 }, 'video:2'));
    first.emit('like', envelope('a2', 'like', { count: 1 }, 'video:1'));
    first.fail();
    vi.runOnlyPendingTimers();
    const second = latest();
    expect(second.params.get('lastEventId')).toBe('a2,b1');
    connect(second);
    second.emit('resync', { topic: 'video:2', reason: 'too_old' });
    expect(resynced).toEqual(['video:2']);
    second.fail();
    vi.runOnlyPendingTimers();
    expect(latest().params.get('lastEventId')).toBe('a2');
    client.stop();
  });

  it('adds topics to an open connection with POST /subscribe, and reopens with all when the node refuses', async () => {
    const posts: Array<{ url: string; body: unknown }> = [];
    let ok = true;
    const fetch: FetchLike = async (url, init) => {
      posts.push({ url, body: JSON.parse(init.body) });
      return { ok, status: ok ? 200 : 404 };
    };
    const client = makeClient({ fetch });
    client.start();
    const first = latest();
    connect(first, 'conn-1');
    await client.subscribe(['video:2', 'video:1']);
    expect(posts).toEqual([{ url: `${first.node}/subscribe`, body: { connectionId: 'conn-1', topics: ['video:2'] } }]);
    expect(FakeSource.all).toHaveLength(1);
    ok = false;
    await client.subscribe(['video:3']);
    expect(first.closed).toBe(true);
    expect(latest().params.get('topics')).toBe('video:1,video:2,video:3');
    expect(client.topics).toEqual(['video:1', 'video:2', 'video:3']);
    client.stop();
  });

  it('reopens a stream still opening with the new topics; unsubscribed topics are dropped', async () => {
    const posts: string[] = [];
    const client = makeClient({
      fetch: async (url) => {
        posts.push(url);
        return { ok: true, status: 200 };
      },
    });
    const seen: string[] = [];
    client.on('like', (event) => seen.push(event.topic));
    client.start();
    const opening = latest();
    await client.subscribe(['video:2']);
    expect(opening.closed).toBe(true);
    expect(latest().params.get('topics')).toBe('video:1,video:2');
    expect(posts).toEqual([]);
    const source = latest();
    connect(source);
    await client.unsubscribe(['video:1']);
    expect(posts).toEqual([`${source.node}/unsubscribe`]);
    source.emit('like', envelope('x', 'like', { count: 1 }, 'video:1')); // sent before the node applied it
    source.emit('like', envelope('y', 'like', { count: 1 }, 'video:2'));
    expect(seen).toEqual(['video:2']);
    client.stop();
  });
});
