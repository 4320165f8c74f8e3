// @vitest-environment happy-dom
import type { Comment, OvationEvents, TypedEvent, Video } from '@ovation/client';
import { QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { act, renderHook, waitFor } from '@testing-library/react';
import { createElement, type ReactNode } from 'react';
import { afterEach, beforeEach, describe, expect, expectTypeOf, it, vi } from 'vitest';
import { FakeLocks } from '../../client/test/fake-browser.js';
import { connect, FakeSource, latest } from '../../client/test/fake-source.js';
import { useLiveVideo, useTopic } from '../src/index.js';

const URLS = ['http://a:1'];
const VIDEO: Video = {
  id: 'v1',
  title: 'Launch',
  status: 'live',
  hlsUrl: '/demo/a.m3u8',
  ownerId: 'u0',
  createdAt: '2026-01-01T00:00:00Z',
  likes: 10,
  reactions: { like: 10 },
  viewers: 1,
};
const comment = (id: string, author = 'u1'): Comment => ({
  id,
  videoId: 'v1',
  author: { id: author, name: author },
  text: id,
  at: 'now',
});
const client = { createEventSource: (url: string) => new FakeSource(url), random: () => 0 };

function wrapper(queryClient: QueryClient) {
  return ({ children }: { children: ReactNode }) =>
    createElement(QueryClientProvider, { client: queryClient }, children);
}

const emit = (type: string, data: object, topic = 'video:v1', id = `${type}-${Math.random()}`) =>
  act(() => latest().emit(type, { id, topic, type, data, ts: Date.now() }));

// Tells React that updates are wrapped in act() here (testing-library's own setup is for Jest).
(globalThis as { IS_REACT_ACT_ENVIRONMENT?: boolean }).IS_REACT_ACT_ENVIRONMENT = true;

beforeEach(() => {
  FakeSource.all = [];
});

afterEach(() => {
  vi.restoreAllMocks();
});

describe('useLiveVideo', () => {
  it('loads the video and its comments, then keeps viewers, likes and comments current in the query cache', async () => {
    const queryClient = new QueryClient({ defaultOptions: { queries: { retry: false } } });
    const load = {
      video: vi.fn(async () => ({ video: VIDEO })),
      comments: vi.fn(async () => ({ comments: [comment('c0')] })),
    };
    const others: number[] = [];
    const { result, unmount } = renderHook(
      () =>
        useLiveVideo('v1', {
          urls: URLS,
          load,
          client,
          reportLatency: false,
          ownUserId: () => 'me',
          onLikes: (count) => others.push(count),
        }),
      { wrapper: wrapper(queryClient) },
    );
    await waitFor(() => expect(result.current.video.data).toBeDefined());
    await waitFor(() => expect(result.current.comments.data).toBeDefined());
    const source = latest();
    expect(source.params.get('topics')).toBe('video:v1');
    await act(() => connect(source));
    expect(result.current.connection.status).toBe('open');

    await emit('viewers', { count: 42 });
    await emit('like', {
      count: 3,
      byReaction: { love: 3 },
      total: 20,
      totals: { like: 17, love: 3 },
      sample: [{ id: 'u2', name: 'B' }],
    });
    // From a publisher that names no reaction (and no totals): added to `like`.
    await emit('like', { count: 1, total: 21, sample: [{ id: 'me', name: 'Me' }] });
    await emit('comment', comment('c1'));
    // react-query tells its observers on the next tick.
    await waitFor(() => expect(result.current.likes).toBe(21));
    expect(result.current.viewers).toBe(42);
    await waitFor(() => expect(result.current.comments.data?.comments.map((c) => c.id)).toEqual(['c0', 'c1']));
    expect(queryClient.getQueryData(['video', 'v1'])).toEqual({
      video: { ...VIDEO, viewers: 42, likes: 21, reactions: { like: 18, love: 3 } },
    });
    expect(others).toEqual([3]); // the user's own like was shown when tapped

    // A resync reloads both from the API.
    await act(() => source.emit('resync', { topic: 'video:v1', reason: 'gap' }));
    await waitFor(() => expect(load.video).toHaveBeenCalledTimes(2));
    await waitFor(() => expect(load.comments).toHaveBeenCalledTimes(2));
    unmount();
    expect(source.closed).toBe(true);
  });
});

describe('useLiveVideo: a load under way when events arrive', () => {
  it("the load's answer, read before them, does not take back the events heard meanwhile", async () => {
    const queryClient = new QueryClient({ defaultOptions: { queries: { retry: false } } });
    // The loads answer only when the test says, with what the server read when they started.
    let answerVideo = (_: Video) => {};
    let answerComments = (_: Comment[]) => {};
    const load = {
      video: vi.fn(() => new Promise<{ video: Video }>((resolve) => (answerVideo = (video) => resolve({ video })))),
      comments: vi.fn(
        () => new Promise<{ comments: Comment[] }>((resolve) => (answerComments = (comments) => resolve({ comments }))),
      ),
    };
    const { result, unmount } = renderHook(
      () => useLiveVideo('v1', { urls: URLS, load, client, reportLatency: false }),
      { wrapper: wrapper(queryClient) },
    );
    await waitFor(() => expect(load.comments).toHaveBeenCalledTimes(1));
    await act(() => connect(latest()));
    await emit('snapshot', { viewers: 1, likes: 10, status: 'live' });
    await emit('like', { count: 2, total: 12 });
    // A like without a total counts on the snapshot's total (the stream's own figure).
    await emit('like', { count: 5 });
    await emit('comment', comment('c1'));
    await emit('comment_deleted', { id: 'c0', videoId: 'v1' });
    await act(async () => {
      answerVideo({ ...VIDEO, viewers: 0, likes: 11 });
      answerComments([comment('c0')]);
    });
    await waitFor(() => expect(result.current.video.data).toBeDefined());
    await waitFor(() => expect(result.current.comments.data).toBeDefined());
    expect(result.current.viewers).toBe(1);
    expect(result.current.likes).toBe(17);
    expect(result.current.comments.data?.comments.map((c) => c.id)).toEqual(['c1']);

    // A reload: the events before it started are older than its answer; a like without a total
    // during it, with no total heard since it started, may be counted in its answer already.
    // (Not awaited: the reload ends only when the test answers it.)
    act(() => void queryClient.invalidateQueries({ queryKey: ['video', 'v1'] }));
    await waitFor(() => expect(load.video).toHaveBeenCalledTimes(2));
    await emit('like', { count: 5 });
    await act(async () => answerVideo({ ...VIDEO, viewers: 4, likes: 30 }));
    await waitFor(() => expect(result.current.viewers).toBe(4));
    expect(result.current.likes).toBe(30);
    unmount();
  });
});

describe('useLiveVideo: a load shared by two mounts', () => {
  it('a component mounted again joins the load under way, and the events it hears are laid over that load', async () => {
    const queryClient = new QueryClient({ defaultOptions: { queries: { retry: false } } });
    let answerVideo = (_: Video) => {};
    const load = {
      video: vi.fn(() => new Promise<{ video: Video }>((resolve) => (answerVideo = (video) => resolve({ video })))),
      comments: vi.fn(async () => ({ comments: [] })),
    };
    const render = () =>
      renderHook(() => useLiveVideo('v1', { urls: URLS, load, client, reportLatency: false }), {
        wrapper: wrapper(queryClient),
      });
    const first = render();
    await waitFor(() => expect(load.video).toHaveBeenCalledTimes(1));
    first.unmount();
    const second = render();
    await act(() => connect(latest()));
    await emit('viewers', { count: 3 });
    // The first mount's load, now the second's: still one.
    expect(load.video).toHaveBeenCalledTimes(1);
    await act(async () => answerVideo({ ...VIDEO, viewers: 0 }));
    await waitFor(() => expect(second.result.current.viewers).toBe(3));
    second.unmount();
  });
});

describe('useTopic', () => {
  it('delivers typed events of its topics, keeps one connection across renders, reconnects when topics change', async () => {
    const seen: string[] = [];
    const { result, rerender, unmount } = renderHook(
      ({ topics, tag }: { topics: string[]; tag: string }) =>
        useTopic<OvationEvents>(topics, {
          urls: URLS,
          types: ['status'],
          client,
          onEvent: (event) => {
            if (event.type === 'status') {
              expectTypeOf(event.data.status).toEqualTypeOf<Video['status']>();
              seen.push(`${tag}:${event.data.videoId}:${event.data.status}`);
            }
          },
        }),
      { initialProps: { topics: ['videos'], tag: 'first' } },
    );
    const first = latest();
    expect(first.params.get('topics')).toBe('videos');
    await act(() => connect(first));
    expect(result.current.status).toBe('open');
    await emit('status', { videoId: 'v1', status: 'live' }, 'videos');
    // A new callback (a new render) is used at once, on the same connection.
    rerender({ topics: ['videos'], tag: 'second' });
    await emit('status', { videoId: 'v2', status: 'ended' }, 'videos');
    expect(FakeSource.all).toHaveLength(1);
    expect(seen).toEqual(['first:v1:live', 'second:v2:ended']);

    rerender({ topics: ['videos', 'video:v9'], tag: 'third' });
    expect(first.closed).toBe(true);
    expect(latest().params.get('topics')).toBe('videos,video:v9');
    unmount();
    expect(latest().closed).toBe(true);
  });
});

describe('useTopic on the connection the tabs share', () => {
  it('two hooks of a page: one connection (this tab holds the Web Lock), each hook its events, closed when both unmount', async () => {
    // happy-dom's navigator.locks grants nothing: the fake lock manager stands in.
    Object.defineProperty(navigator, 'locks', { value: new FakeLocks().manager(), configurable: true });
    const tokens: string[][] = [];
    const options = (seen: string[]) => ({
      urls: URLS,
      shared: true,
      sharedToken: async (topics: readonly string[]) => {
        tokens.push([...topics]);
        return { token: 'tk', expiresAt: Date.now() + 3_600_000 };
      },
      client: { ...client, setTimeout: () => 0, clearTimeout: () => {} },
      onEvent: (event: TypedEvent<OvationEvents>) => seen.push(`${event.topic}:${event.id}`),
    });
    const a: string[] = [];
    const b: string[] = [];
    const first = renderHook(() => useTopic<OvationEvents>('videos', options(a)));
    await waitFor(() => expect(FakeSource.all).toHaveLength(1));
    const second = renderHook(() => useTopic<OvationEvents>('video:v1', options(b)));
    // The second topic is not in the first token: a token for both, and the stream reopens with both.
    await waitFor(() => expect(latest().params.get('topics')?.split(',').sort()).toEqual(['video:v1', 'videos']));
    expect(FakeSource.all.filter((s) => !s.closed)).toHaveLength(1);
    await act(() => connect(latest()));
    await waitFor(() => expect(second.result.current.status).toBe('open'));
    expect(first.result.current.status).toBe('open');
    await emit('status', { videoId: 'v1', status: 'live' }, 'videos', 's1');
    await emit('comment', comment('c1'), 'video:v1', 'c1');
    expect(a).toEqual(['videos:s1']);
    expect(b).toEqual(['video:v1:c1']);
    first.unmount();
    second.unmount();
    await waitFor(() => expect(latest().closed).toBe(true));
  });
  it('useLiveVideo on the shared connection: the video and comments load again once it is subscribed (the events before it joined reach no tab again)', async () => {
    Object.defineProperty(navigator, 'locks', { value: new FakeLocks().manager(), configurable: true });
    const queryClient = new QueryClient({ defaultOptions: { queries: { retry: false } } });
    const load = {
      video: vi.fn(async () => ({ video: VIDEO })),
      comments: vi.fn(async () => ({ comments: [comment('c0')] })),
    };
    const { result, unmount } = renderHook(
      () =>
        useLiveVideo('v1', {
          urls: URLS,
          load,
          shared: true,
          sharedToken: async () => ({ token: 'tk', expiresAt: Date.now() + 3_600_000 }),
          client: { ...client, setTimeout: () => 0, clearTimeout: () => {} },
          reportLatency: false,
        }),
      { wrapper: wrapper(queryClient) },
    );
    await waitFor(() => expect(FakeSource.all.filter((s) => !s.closed)).toHaveLength(1));
    await act(() => connect(latest()));
    await waitFor(() => expect(result.current.connection.status).toBe('open'));
    await waitFor(() => expect(load.video).toHaveBeenCalledTimes(2));
    await waitFor(() => expect(load.comments).toHaveBeenCalledTimes(2));
    // A reconnect later resumes from its last ids: nothing is loaded again.
    await act(() => latest().fail());
    await act(() => connect(latest(), 'c2'));
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(load.video).toHaveBeenCalledTimes(2);
    expect(load.comments).toHaveBeenCalledTimes(2);
    unmount();
  });
});
