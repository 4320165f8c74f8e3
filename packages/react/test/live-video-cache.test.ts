import type { Comment, OvationEvents, TypedEvent, Video } from '@ovation/client';
import { QueryClient } from '@tanstack/react-query';
import { describe, expect, it } from 'vitest';
import {
  applyLiveVideoEvent,
  type CommentsData,
  liveVideoKeys,
  MAX_CACHED_COMMENTS,
  type VideoData,
} from '../src/index.js';

const VIDEO: Video = {
  id: 'v1',
  title: 'Launch',
  status: 'upcoming',
  hlsUrl: '/demo/a.m3u8',
  ownerId: 'u0',
  createdAt: '2026-01-01T00:00:00Z',
  likes: 10,
  reactions: { like: 10 },
  viewers: 0,
};
const comment = (id: string): Comment => ({ id, videoId: 'v1', author: { id: 'u1', name: 'A' }, text: id, at: 'now' });

function event<K extends keyof OvationEvents>(type: K, data: OvationEvents[K]): TypedEvent<OvationEvents> {
  return { id: `${type}-1`, topic: 'video:v1', type, data, ts: 0 } as TypedEvent<OvationEvents>;
}

function cache() {
  const client = new QueryClient();
  client.setQueryData<VideoData>(liveVideoKeys.video('v1'), { video: VIDEO });
  client.setQueryData<CommentsData>(liveVideoKeys.comments('v1'), { comments: [comment('c0')] });
  const video = () => client.getQueryData<VideoData>(liveVideoKeys.video('v1'))?.video;
  const comments = () => client.getQueryData<CommentsData>(liveVideoKeys.comments('v1'))?.comments.map((c) => c.id);
  return { client, video, comments };
}

describe('applyLiveVideoEvent', () => {
  it('keeps the totals per reaction, adding up to the like total, also for a video from an older server', () => {
    const { client, video } = cache();
    applyLiveVideoEvent(client, 'v1', event('like', { count: 2, byReaction: { love: 2 } }));
    expect(video()).toMatchObject({ likes: 12, reactions: { like: 10, love: 2 } });
    applyLiveVideoEvent(client, 'v1', event('like', { count: 1, total: 20, totals: { like: 15, love: 4, funny: 1 } }));
    expect(video()).toMatchObject({ likes: 20, reactions: { like: 15, love: 4, funny: 1 } });
    applyLiveVideoEvent(client, 'v1', event('snapshot', { viewers: 3, likes: 25, reactions: { like: 18, love: 7 } }));
    expect(video()).toMatchObject({ likes: 25, reactions: { like: 18, love: 7 } });
    // A video as an older server answers it (no reactions): every like a `like`, nothing thrown.
    const { reactions: _none, ...older } = VIDEO;
    client.setQueryData<VideoData>(liveVideoKeys.video('v1'), { video: older as Video });
    applyLiveVideoEvent(client, 'v1', event('like', { count: 2, total: 12 }));
    expect(video()).toMatchObject({ likes: 12, reactions: { like: 12 } });
  });

  it('keeps likes, viewers and status of the cached video current', () => {
    const { client, video } = cache();
    applyLiveVideoEvent(client, 'v1', event('like', { count: 2 }));
    expect(video()?.likes).toBe(12);
    applyLiveVideoEvent(client, 'v1', event('like', { count: 1, total: 40 }));
    expect(video()?.likes).toBe(40);
    // A total behind what the page already counted (its own taps) does not take likes back.
    applyLiveVideoEvent(client, 'v1', event('like', { count: 1, total: 30 }));
    expect(video()?.likes).toBe(40);
    applyLiveVideoEvent(client, 'v1', event('viewers', { count: 7 }));
    applyLiveVideoEvent(client, 'v1', event('status', { videoId: 'v1', status: 'live' }));
    expect(video()).toMatchObject({ viewers: 7, status: 'live', likes: 40 });
    applyLiveVideoEvent(client, 'v1', event('snapshot', { viewers: 3, likes: 50, status: 'ended' }));
    expect(video()).toMatchObject({ viewers: 3, status: 'ended', likes: 50 });
  });

  it('appends each comment once, removes deleted ones, and keeps the last MAX_CACHED_COMMENTS', () => {
    const { client, comments } = cache();
    applyLiveVideoEvent(client, 'v1', event('comment', comment('c1')));
    applyLiveVideoEvent(client, 'v1', event('comment', comment('c1')));
    expect(comments()).toEqual(['c0', 'c1']);
    applyLiveVideoEvent(client, 'v1', event('comment_deleted', { id: 'c0', videoId: 'v1' }));
    expect(comments()).toEqual(['c1']);
    for (let i = 2; i < MAX_CACHED_COMMENTS + 10; i++)
      applyLiveVideoEvent(client, 'v1', event('comment', comment(`c${i}`)));
    expect(comments()).toHaveLength(MAX_CACHED_COMMENTS);
    expect(comments()?.at(-1)).toBe(`c${MAX_CACHED_COMMENTS + 9}`);
  });

  it('creates no video entry that was not loaded, and leaves other videos alone', () => {
    const client = new QueryClient();
    applyLiveVideoEvent(client, 'v2', event('viewers', { count: 4 }));
    applyLiveVideoEvent(client, 'v2', event('comment_deleted', { id: 'x', videoId: 'v2' }));
    expect(client.getQueryData(liveVideoKeys.video('v2'))).toBeUndefined();
    expect(client.getQueryData(liveVideoKeys.comments('v2'))).toBeUndefined();
    const { client: other, video } = cache();
    applyLiveVideoEvent(other, 'v2', event('viewers', { count: 4 }));
    expect(video()?.viewers).toBe(0);
  });
});
