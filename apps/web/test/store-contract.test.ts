import { beforeEach, describe, expect, it } from 'vitest';
import { redisForThisFile } from '../../../test-support/shared-redis.js';
import { MemoryStore } from '../lib/server/store/memory-store';
import { RedisStore } from '../lib/server/store/redis-store';
import { MAX_COMMENTS_PER_VIDEO, type ProductStore } from '../lib/server/store/store';

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
});
