import { beforeEach, describe, expect, it } from 'vitest';
import { redisForThisFile } from '../../../test-support/shared-redis.js';
import { MemoryStore } from '../lib/server/store/memory-store';
import { RedisStore } from '../lib/server/store/redis-store';
import {
  ACTIVITY_MINUTES,
  MAX_COMMENTS_PER_VIDEO,
  MAX_LISTED_VIDEOS,
  minuteOf,
  type ProductStore,
} from '../lib/server/store/store';

const shared = redisForThisFile('store-test');

const drivers: Record<string, () => ProductStore> = {
  memory: () => new MemoryStore(),
  redis: () => new RedisStore(shared.client(), shared.prefix()),
};

const ann = { id: 'u-ann', name: 'Ann' };

describe.each(Object.entries(drivers))('ProductStore contract (%s)', (_name, make) => {
  let store: ProductStore;
  beforeEach(() => {
    store = make();
  });

  it('creates, reads and lists videos newest first', async () => {
    const first = await store.createVideo({ title: 'One', hlsUrl: 'http://x/1.m3u8', ownerId: 'u1' });
    await new Promise((resolve) => setTimeout(resolve, 5)); // distinct creation times
    const second = await store.createVideo({ title: 'Two', hlsUrl: 'http://x/2.m3u8', ownerId: 'u2', status: 'live' });
    expect(await store.getVideo(first.id)).toEqual(first);
    expect(first).toMatchObject({ status: 'upcoming', likes: 0, ownerId: 'u1' });
    expect((await store.listVideos()).map((v) => v.id)).toEqual([second.id, first.id]);
    expect(await store.getVideo('missing')).toBeUndefined();
  });

  it('changes status and counts likes', async () => {
    const video = await store.createVideo({ title: 'T', hlsUrl: 'h', ownerId: 'u' });
    expect((await store.setStatus(video.id, 'live'))?.status).toBe('live');
    expect(await store.setStatus('missing', 'live')).toBeUndefined();
    expect(await store.addLikes(video.id, 3)).toBe(3);
    expect(await store.addLikes(video.id, 50)).toBe(53);
    expect((await store.getVideo(video.id))?.likes).toBe(53);
  });

  it('keeps the recent comments, oldest first, and deletes one by id', async () => {
    const video = await store.createVideo({ title: 'T', hlsUrl: 'h', ownerId: 'u' });
    const a = await store.addComment(video.id, ann, 'first');
    const b = await store.addComment(video.id, ann, 'second <b>');
    const c = await store.addComment(video.id, ann, 'third');
    expect(a).toMatchObject({ videoId: video.id, author: ann, text: 'first' });
    expect((await store.listComments(video.id, 50)).map((x) => x.text)).toEqual(['first', 'second <b>', 'third']);
    expect((await store.listComments(video.id, 2)).map((x) => x.id)).toEqual([b.id, c.id]);
    expect(await store.deleteComment(video.id, b.id)).toBe(true);
    expect(await store.deleteComment(video.id, b.id)).toBe(false);
    expect((await store.listComments(video.id, 50)).map((x) => x.id)).toEqual([a.id, c.id]);
  });

  it('bounds the comments kept per video', async () => {
    const video = await store.createVideo({ title: 'T', hlsUrl: 'h', ownerId: 'u' });
    for (let i = 0; i < MAX_COMMENTS_PER_VIDEO + 5; i++) await store.addComment(video.id, ann, `c${i}`);
    const all = await store.listComments(video.id, MAX_COMMENTS_PER_VIDEO + 100);
    expect(all).toHaveLength(MAX_COMMENTS_PER_VIDEO);
    expect(all[0]?.text).toBe('c5');
  });

  it("lists one owner's videos, newest first", async () => {
    const mine = await store.createVideo({ title: 'Mine', hlsUrl: 'h', ownerId: 'owner-1' });
    await store.createVideo({ title: 'Theirs', hlsUrl: 'h', ownerId: 'owner-2' });
    await new Promise((resolve) => setTimeout(resolve, 5));
    const newer = await store.createVideo({ title: 'Mine too', hlsUrl: 'h', ownerId: 'owner-1' });
    expect((await store.listVideosByOwner('owner-1')).map((v) => v.id)).toEqual([newer.id, mine.id]);
    expect(await store.listVideosByOwner('nobody')).toEqual([]);
    // However many newer videos others made, an owner's own stay listed.
    for (let i = 0; i < MAX_LISTED_VIDEOS; i++)
      await store.createVideo({ title: `x${i}`, hlsUrl: 'h', ownerId: 'owner-2' });
    expect((await store.listVideosByOwner('owner-1')).map((v) => v.id)).toEqual([newer.id, mine.id]);
  });

  it('counts likes and comments per minute over the chart window', async () => {
    const video = await store.createVideo({ title: 'T', hlsUrl: 'h', ownerId: 'u' });
    await store.addLikes(video.id, 7);
    await store.addLikes(video.id, 3);
    await store.addComment(video.id, ann, 'hi');
    const now = Date.now();
    const activity = await store.activity(video.id, now);
    expect(activity).toHaveLength(ACTIVITY_MINUTES);
    expect(activity.at(-1)?.minute).toBe(minuteOf(now));
    // (The adds may straddle a minute boundary: count the window, not one bucket.)
    expect(activity.reduce((n, m) => n + m.likes, 0)).toBe(10);
    expect(activity.reduce((n, m) => n + m.comments, 0)).toBe(1);
    // Ten minutes on, the window has moved past them.
    expect((await store.activity(video.id, now + ACTIVITY_MINUTES * 60_000)).every((m) => m.likes === 0)).toBe(true);
  });

  it('bans and unbans users per video', async () => {
    const video = await store.createVideo({ title: 'T', hlsUrl: 'h', ownerId: 'u' });
    await store.ban(video.id, ann);
    expect(await store.isBanned(video.id, ann.id)).toBe(true);
    expect(await store.isBanned('other-video', ann.id)).toBe(false);
    expect(await store.listBans(video.id)).toEqual([ann]);
    expect(await store.unban(video.id, ann.id)).toBe(true);
    expect(await store.unban(video.id, ann.id)).toBe(false);
    expect(await store.isBanned(video.id, ann.id)).toBe(false);
  });
});
