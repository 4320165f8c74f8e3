import type { RedisClient } from '@ovation/shared/redis';
import { beforeEach, describe, expect, it } from 'vitest';
import { waitFor } from '../../../test-support/poll.js';
import { redisForThisFile } from '../../../test-support/shared-redis.js';
import { MemoryStore } from '../lib/server/store/memory-store';
import { RedisStore } from '../lib/server/store/redis-store';
import {
  ACTIVITY_MINUTES,
  keyedVideoId,
  keyOf,
  listedBefore,
  MAX_ADDRESSES_PER_USER,
  MAX_COMMENTS_PER_VIDEO,
  MAX_LISTED_VIDEOS,
  minuteOf,
  type ProductStore,
  type StoredVideo,
  type StoreOptions,
} from '../lib/server/store/store';

const shared = redisForThisFile('store-test', { cluster: true });

const drivers: Record<string, (options?: StoreOptions) => ProductStore> = {
  memory: (options) => new MemoryStore(options),
  redis: (options) => new RedisStore(shared.client(), shared.prefix(), options),
  'redis cluster': (options) => new RedisStore(shared.clusterClient(), shared.prefix(), options),
};

const ann = { id: 'u-ann', name: 'Ann' };

/** The value of a write that must have happened. */
async function created<T>(write: Promise<T | undefined>): Promise<T> {
  const value = await write;
  if (value === undefined) throw new Error('expected the write to happen');
  return value;
}

describe.each(Object.entries(drivers))('ProductStore contract (%s)', (_name, make) => {
  let store: ProductStore;
  beforeEach(() => {
    store = make();
  });

  it('creates, reads and lists videos newest first', async () => {
    const first = await created(store.createVideo({ title: 'One', hlsUrl: 'http://x/1.m3u8', ownerId: 'u1' }));
    await new Promise((resolve) => setTimeout(resolve, 5)); // distinct creation times
    const second = await created(
      store.createVideo({ title: 'Two', hlsUrl: 'http://x/2.m3u8', ownerId: 'u2', status: 'live' }),
    );
    expect(await store.getVideo(first.id)).toEqual(first);
    expect(first).toMatchObject({ status: 'upcoming', likes: 0, ownerId: 'u1' });
    expect((await store.listVideos()).map((v) => v.id)).toEqual([second.id, first.id]);
    expect(await store.getVideo('missing')).toBeUndefined();
  });

  it('changes status, only forward, and counts likes', async () => {
    const video = await created(store.createVideo({ title: 'T', hlsUrl: 'h', ownerId: 'u' }));
    expect(await store.setStatus(video.id, 'live')).toMatchObject({ video: { status: 'live' }, changed: true });
    expect(await store.setStatus(video.id, 'live')).toMatchObject({ video: { status: 'live' }, changed: false });
    expect(await store.setStatus(video.id, 'ended')).toMatchObject({ video: { status: 'ended' }, changed: true });
    // An ended video stays ended.
    expect(await store.setStatus(video.id, 'live')).toMatchObject({ video: { status: 'ended' }, changed: false });
    expect((await store.getVideo(video.id))?.status).toBe('ended');
    expect(await store.setStatus('missing', 'live')).toBeUndefined();
    expect(await store.addLikes(video.id, 3)).toEqual({ total: 3, totals: { like: 3 } });
    expect(await store.addLikes(video.id, 50)).toEqual({ total: 53, totals: { like: 53 } });
    expect((await store.getVideo(video.id))?.likes).toBe(53);
    expect(await store.addLikes('missing', 1)).toEqual({ total: 0, totals: {} });
  });

  it('counts likes per reaction, the totals summing to the total', async () => {
    const video = await created(store.createVideo({ title: 'T', hlsUrl: 'h', ownerId: 'u' }));
    expect((await store.getVideo(video.id))?.reactions).toEqual({});
    expect(await store.addLikes(video.id, 3, undefined, 'love')).toEqual({ total: 3, totals: { love: 3 } });
    expect(await store.addLikes(video.id, 2)).toEqual({ total: 5, totals: { love: 3, like: 2 } });
    expect(await store.addLikes(video.id, 1, undefined, 'funny')).toEqual({
      total: 6,
      totals: { love: 3, like: 2, funny: 1 },
    });
    expect(await store.getVideo(video.id)).toMatchObject({ likes: 6, reactions: { love: 3, like: 2, funny: 1 } });
    // Concurrent batches of every reaction: each reaction's total is exact, and they sum to the total.
    const reactions = ['like', 'celebrate', 'support', 'love', 'insightful', 'funny'] as const;
    await Promise.all(Array.from({ length: 60 }, (_, i) => store.addLikes(video.id, 2, undefined, reactions[i % 6])));
    expect(await store.getVideo(video.id)).toMatchObject({
      likes: 126,
      reactions: { like: 22, celebrate: 20, support: 20, love: 23, insightful: 20, funny: 21 },
    });
  });

  it('keeps the recent comments, oldest first, and deletes one by id', async () => {
    const video = await created(store.createVideo({ title: 'T', hlsUrl: 'h', ownerId: 'u' }));
    const a = await created(store.addComment(video.id, ann, 'first'));
    const b = await created(store.addComment(video.id, ann, 'second <b>'));
    const c = await created(store.addComment(video.id, ann, 'third'));
    expect(a).toMatchObject({ videoId: video.id, author: ann, text: 'first' });
    expect((await store.listComments(video.id, 50)).map((x) => x.text)).toEqual(['first', 'second <b>', 'third']);
    expect((await store.listComments(video.id, 2)).map((x) => x.id)).toEqual([b.id, c.id]);
    expect(await store.hasComment(video.id, b.id)).toBe(true);
    expect(await store.deleteComment(video.id, b.id)).toBe('deleted');
    // A repeat finds the tombstone; a comment never stored is missing.
    expect(await store.deleteComment(video.id, b.id)).toBe('gone');
    expect(await store.deleteComment(video.id, 'never-was')).toBe('missing');
    expect(await store.hasComment(video.id, b.id)).toBe(false);
    expect((await store.listComments(video.id, 50)).map((x) => x.id)).toEqual([a.id, c.id]);
  });

  it('bounds the comments kept per video', async () => {
    const video = await created(store.createVideo({ title: 'T', hlsUrl: 'h', ownerId: 'u' }));
    for (let i = 0; i < MAX_COMMENTS_PER_VIDEO + 5; i++) await store.addComment(video.id, ann, `c${i}`);
    const all = await store.listComments(video.id, MAX_COMMENTS_PER_VIDEO + 100);
    expect(all).toHaveLength(MAX_COMMENTS_PER_VIDEO);
    expect(all[0]?.text).toBe('c5');
  });

  it("lists one owner's videos, newest first", async () => {
    const mine = await created(store.createVideo({ title: 'Mine', hlsUrl: 'h', ownerId: 'owner-1' }));
    await store.createVideo({ title: 'Theirs', hlsUrl: 'h', ownerId: 'owner-2' });
    await new Promise((resolve) => setTimeout(resolve, 5));
    const newer = await created(store.createVideo({ title: 'Mine too', hlsUrl: 'h', ownerId: 'owner-1' }));
    expect((await store.listVideosByOwner('owner-1')).map((v) => v.id)).toEqual([newer.id, mine.id]);
    expect(await store.listVideosByOwner('nobody')).toEqual([]);
    // However many newer videos others made, an owner's own stay listed.
    for (let i = 0; i < MAX_LISTED_VIDEOS; i++)
      await store.createVideo({ title: `x${i}`, hlsUrl: 'h', ownerId: 'owner-2' });
    expect((await store.listVideosByOwner('owner-1')).map((v) => v.id)).toEqual([newer.id, mine.id]);
  });

  it('counts likes and comments per minute over the chart window', async () => {
    const video = await created(store.createVideo({ title: 'T', hlsUrl: 'h', ownerId: 'u' }));
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
    const video = await created(store.createVideo({ title: 'T', hlsUrl: 'h', ownerId: 'u' }));
    await store.ban(video.id, ann);
    expect(await store.isBanned(video.id, ann.id)).toBe(true);
    expect(await store.isBanned('other-video', ann.id)).toBe(false);
    expect(await store.listBans(video.id)).toEqual([ann]);
    expect(await store.unban(video.id, ann.id)).toBe(true);
    expect(await store.unban(video.id, ann.id)).toBe(false);
    expect(await store.isBanned(video.id, ann.id)).toBe(false);
  });
  it('creates a video with a given id only once (the demo after a restart)', async () => {
    const demo = await created(
      store.createVideo({ id: 'demo-x', title: 'Demo', hlsUrl: 'h', ownerId: 's', status: 'live' }),
    );
    await store.addLikes(demo.id, 5);
    expect(await store.createVideo({ id: 'demo-x', title: 'Again', hlsUrl: 'h', ownerId: 's' })).toBeUndefined();
    expect(await store.getVideo('demo-x')).toMatchObject({ title: 'Demo', status: 'live', likes: 5 });
  });

  it('writes a comment, likes and a video at most once per once scope, and recalls what it did', async () => {
    const video = await created(store.createVideo({ title: 'T', hlsUrl: 'h', ownerId: 'u' }));
    const once = { scope: 'scope-comment', fingerprint: 'fp-1', videoId: video.id };
    const first = await created(store.addComment(video.id, ann, 'hello', once));
    expect(await store.addComment(video.id, ann, 'hello', once)).toBeUndefined();
    expect((await store.listComments(video.id, 50)).map((c) => c.id)).toEqual([first.id]);
    const record = await store.recall(once);
    expect(record?.fingerprint).toBe('fp-1');
    expect(JSON.parse(record?.result ?? 'null')).toEqual(first);
    expect((await store.activity(video.id)).reduce((n, m) => n + m.comments, 0)).toBe(1);

    const likes = { scope: 'scope-like', fingerprint: 'fp-2', videoId: video.id };
    expect(await store.addLikes(video.id, 4, likes, 'celebrate')).toEqual({ total: 4, totals: { celebrate: 4 } });
    expect(await store.addLikes(video.id, 4, likes, 'celebrate')).toBeUndefined();
    expect(await store.addLikes(video.id, 2)).toMatchObject({ total: 6 });
    expect((await store.getVideo(video.id))?.likes).toBe(6);
    expect(JSON.parse((await store.recall(likes))?.result ?? 'null')).toMatchObject({
      total: 4,
      count: 4,
      reaction: 'celebrate',
      others: { celebrate: 4 },
    });
    expect((await store.activity(video.id)).reduce((n, m) => n + m.likes, 0)).toBe(6);

    const make = { scope: 'scope-video', fingerprint: 'fp-3', videoId: keyedVideoId('scope-video') };
    const made = await created(store.createVideo({ title: 'Once', hlsUrl: 'h', ownerId: 'o-once' }, make));
    // A keyed create's video id is its scope's: every attempt names the same video.
    expect(made.id).toBe(keyedVideoId('scope-video'));
    expect(await store.createVideo({ title: 'Once', hlsUrl: 'h', ownerId: 'o-once' }, make)).toBeUndefined();
    expect((await store.listVideosByOwner('o-once')).map((v) => v.id)).toEqual([made.id]);
    expect(JSON.parse((await store.recall(make))?.result ?? 'null')).toEqual({ id: made.id });

    expect(await store.recall({ scope: 'never-used', fingerprint: 'fp', videoId: video.id })).toBeUndefined();
    // A record is the video's: the same scope about another video is another write.
    expect(await store.recall({ ...likes, videoId: made.id })).toBeUndefined();
  });

  it('lets one of many concurrent writes with the same once scope through', async () => {
    const video = await created(store.createVideo({ title: 'T', hlsUrl: 'h', ownerId: 'u' }));
    const once = { scope: 'scope-race', fingerprint: 'fp', videoId: video.id };
    const comments = await Promise.all(Array.from({ length: 10 }, () => store.addComment(video.id, ann, 'x', once)));
    expect(comments.filter((c) => c !== undefined)).toHaveLength(1);
    const likes = { scope: 'scope-race-likes', fingerprint: 'fp', videoId: video.id };
    const totals = await Promise.all(Array.from({ length: 10 }, () => store.addLikes(video.id, 2, likes)));
    expect(totals.filter((t) => t !== undefined)).toEqual([{ total: 2, totals: { like: 2 } }]);
    expect(await store.listComments(video.id, 50)).toHaveLength(1);
    expect((await store.getVideo(video.id))?.likes).toBe(2);
    // Concurrent keyed creates: one video, and those that answer name it (the others find the record).
    const make = { scope: 'scope-race-video', fingerprint: 'fp', videoId: keyedVideoId('scope-race-video') };
    const videos = await Promise.all(
      Array.from({ length: 10 }, () => store.createVideo({ title: 'R', hlsUrl: 'h', ownerId: 'o-race' }, make)),
    );
    expect(new Set(videos.flatMap((v) => (v ? [v.id] : [])))).toEqual(new Set([make.videoId]));
    expect((await store.listVideosByOwner('o-race')).map((v) => v.id)).toEqual([make.videoId]);
    expect(await store.countUpcoming('o-race')).toBe(1);
  });

  it('remembers which publishes went out', async () => {
    expect(await store.wasPublished('web:comment:x')).toBe(false);
    await store.notePublished('web:comment:x');
    expect(await store.wasPublished('web:comment:x')).toBe(true);
    expect(await store.wasPublished('web:comment:y')).toBe(false);
  });

  it('forgets once records, publish receipts and tombstones after the idempotency window', async () => {
    const short = make({ idempotencyTtlMs: 500 });
    const video = await created(short.createVideo({ title: 'T', hlsUrl: 'h', ownerId: 'u' }));
    const doomed = await created(short.addComment(video.id, ann, 'deleted'));
    // Written in this order, so they expire in this order: the once record last.
    await short.notePublished('web:expiring');
    expect(await short.deleteComment(video.id, doomed.id)).toBe('deleted');
    const once = { scope: 'scope-expiring', fingerprint: 'fp', videoId: video.id };
    await created(short.addComment(video.id, ann, 'one', once));
    expect(await short.wasPublished('web:expiring')).toBe(true);
    expect(await short.deleteComment(video.id, doomed.id)).toBe('gone');
    expect(await short.addComment(video.id, ann, 'one', once)).toBeUndefined();
    await waitFor('the window to pass', async () => (await short.recall(once)) === undefined);
    expect(await short.wasPublished('web:expiring')).toBe(false);
    expect(await short.deleteComment(video.id, doomed.id)).toBe('missing');
    // Past the window a repeat is a new request.
    expect(await short.addComment(video.id, ann, 'one', once)).toBeDefined();
    expect((await short.listComments(video.id, 50)).map((c) => c.text)).toEqual(['one', 'one']);
  });

  it('answers a ping', async () => {
    await expect(store.ping()).resolves.toBeUndefined();
  });

  it("keeps the owner's display name with a video", async () => {
    const video = await created(store.createVideo({ title: 'T', hlsUrl: 'h', ownerId: 'u', ownerName: 'Ann' }));
    expect(video.ownerName).toBe('Ann');
    expect((await store.getVideo(video.id))?.ownerName).toBe('Ann');
  });

  it('pages an index newest first, ties by id, every video once, and moves videos between indexes', async () => {
    const live: StoredVideo[] = [];
    // Made back to back: several share a millisecond, so ties are paged too.
    for (let i = 0; i < 9; i++) {
      live.push(await created(store.createVideo({ title: `L${i}`, hlsUrl: 'h', ownerId: `o${i}`, status: 'live' })));
    }
    const mine = await created(store.createVideo({ title: 'Mine', hlsUrl: 'h', ownerId: 'me' }));
    await created(store.createVideo({ title: 'Theirs', hlsUrl: 'h', ownerId: 'them' }));
    const ordered = [...live].sort((a, b) => (listedBefore(keyOf(a), keyOf(b)) ? -1 : 1)).map((v) => v.id);
    expect((await store.pageVideos({ status: 'live' }, 100)).map((v) => v.id)).toEqual(ordered);
    const paged: string[] = [];
    let after: StoredVideo | undefined;
    for (;;) {
      const page = await store.pageVideos({ status: 'live' }, 2, after && keyOf(after));
      if (page.length === 0) break;
      paged.push(...page.map((v) => v.id));
      after = page.at(-1);
    }
    expect(paged).toEqual(ordered);
    expect((await store.pageVideos({ upcomingOf: 'me' }, 100)).map((v) => v.id)).toEqual([mine.id]);
    expect(await store.countUpcoming('me')).toBe(1);
    expect(await store.pageVideos({ status: 'ended' }, 100)).toEqual([]);
    // upcoming → live → ended: out of the owner's upcoming index, into live, then ended.
    await store.setStatus(mine.id, 'live');
    expect(await store.countUpcoming('me')).toBe(0);
    expect(await store.pageVideos({ upcomingOf: 'me' }, 100)).toEqual([]);
    expect((await store.pageVideos({ status: 'live' }, 100)).map((v) => v.id)).toContain(mine.id);
    await store.setStatus(mine.id, 'ended');
    expect((await store.pageVideos({ status: 'live' }, 100)).map((v) => v.id)).not.toContain(mine.id);
    expect((await store.pageVideos({ status: 'ended' }, 100)).map((v) => v.id)).toEqual([mine.id]);
  });

  it("bars a banned user's addresses on that video until unbanned, and frees only its own", async () => {
    const video = await created(store.createVideo({ title: 'T', hlsUrl: 'h', ownerId: 'u' }));
    const bob = { id: 'u-bob', name: 'Bob' };
    await store.ban(video.id, ann, ['198.51.100.7', '2001:db8::1']);
    await store.ban(video.id, bob, ['198.51.100.7']);
    expect(await store.isAddressBanned(video.id, '198.51.100.7')).toBe(true);
    expect(await store.isAddressBanned(video.id, '2001:db8::1')).toBe(true);
    expect(await store.isAddressBanned(video.id, '203.0.113.9')).toBe(false);
    expect(await store.isAddressBanned('other-video', '198.51.100.7')).toBe(false);
    expect(await store.unban(video.id, ann.id)).toBe(true);
    expect(await store.isAddressBanned(video.id, '2001:db8::1')).toBe(false);
    // Bob's ban set the shared address last: Ann's unban leaves it barred.
    expect(await store.isAddressBanned(video.id, '198.51.100.7')).toBe(true);
    expect(await store.unban(video.id, bob.id)).toBe(true);
    expect(await store.isAddressBanned(video.id, '198.51.100.7')).toBe(false);
  });

  it("remembers a user's few most recent addresses, newest first", async () => {
    expect(await store.recentAddresses(ann.id)).toEqual([]);
    for (const address of ['a1', 'a2', 'a3', 'a4', 'a5']) {
      await store.noteAddress(ann.id, address);
      await new Promise((resolve) => setTimeout(resolve, 2)); // distinct times
    }
    await store.noteAddress(ann.id, 'a3');
    expect(await store.recentAddresses(ann.id)).toEqual(['a3', 'a5', 'a4', 'a2'].slice(0, MAX_ADDRESSES_PER_USER));
    expect(await store.recentAddresses('u-nobody')).toEqual([]);
  });

  it("marks the owner's comments, and only theirs", async () => {
    const video = await created(store.createVideo({ title: 'T', hlsUrl: 'h', ownerId: ann.id, ownerName: 'Ann' }));
    const mine = await created(store.addComment(video.id, ann, 'from the host', undefined, true));
    const theirs = await created(store.addComment(video.id, { id: 'u-bob', name: 'Bob' }, 'from a fan'));
    expect(mine.owner).toBe(true);
    expect(theirs).not.toHaveProperty('owner');
    expect((await store.listComments(video.id, 10)).map((c) => [c.text, c.owner])).toEqual([
      ['from the host', true],
      ['from a fan', undefined],
    ]);
  });

  it('refuses a revoked session id', async () => {
    expect(await store.isSessionRevoked('sid-1')).toBe(false);
    await store.revokeSession('sid-1', Date.now() + 60_000);
    expect(await store.isSessionRevoked('sid-1')).toBe(true);
    expect(await store.isSessionRevoked('sid-2')).toBe(false);
  });
});

const redisClients: Array<[string, () => RedisClient]> = [
  ['redis', () => shared.client()],
  ['redis cluster', () => shared.clusterClient()],
];

/*
 * What spans a cluster's hash tags is done in steps (redis-store.ts): here, the state a process
 * leaves when it dies between them, made by undoing the later steps of a write, and the user's
 * retry finishing it.
 */
describe.each(redisClients)('RedisStore steps (%s)', (_name, client) => {
  it('lists videos whose indexes are missing (backfilled once)', async () => {
    const redis = client();
    const prefix = shared.prefix();
    const at = Date.now();
    const legacy = { title: 'Old', status: 'live', hlsUrl: 'h', ownerId: 'u', createdAt: new Date(at).toISOString() };
    await redis.hset(`${prefix}:{v:old1}`, { ...legacy, likes: '0' });
    await redis.hset(`${prefix}:{v:old2}`, { ...legacy, status: 'upcoming', likes: '0' });
    await redis.zadd(`${prefix}:{videos}`, at, 'old1', at, 'old2');
    const store = new RedisStore(redis, prefix);
    expect((await store.pageVideos({ status: 'live' }, 10)).map((v) => v.id)).toEqual(['old1']);
    expect(await store.countUpcoming('u')).toBe(1);
  });

  it('finishes a keyed create that stopped after storing the video, or after listing it', async () => {
    const redis = client();
    const prefix = shared.prefix();
    const store = new RedisStore(redis, prefix);
    const input = { title: 'Keyed', hlsUrl: 'h', ownerId: 'o-steps' };
    for (const stoppedAfter of ['the hash', 'the lists'] as const) {
      const scope = `scope-steps-${stoppedAfter}`;
      const once = { scope, fingerprint: 'fp', videoId: keyedVideoId(scope) };
      const first = await created(store.createVideo(input, once));
      // Undone: the once record, and (stopped after the hash) the list entries.
      await redis.del(`${prefix}:{v:${first.id}}:once:${scope}`);
      if (stoppedAfter === 'the hash') {
        await redis.zrem(`${prefix}:{videos}`, first.id);
        await redis.zrem(`${prefix}:{u:o-steps}:videos`, first.id);
        await redis.zrem(`${prefix}:{u:o-steps}:upcoming`, first.id);
        expect((await store.listVideos()).map((v) => v.id)).not.toContain(first.id);
      }
      // The retry finds no record (so its request writes again) and finishes the same video.
      expect(await store.recall(once)).toBeUndefined();
      expect(await store.createVideo(input, once)).toEqual(first);
      expect(JSON.parse((await store.recall(once))?.result ?? 'null')).toEqual({ id: first.id });
      expect(await store.createVideo(input, once)).toBeUndefined();
      expect((await store.listVideos()).filter((v) => v.id === first.id)).toEqual([first]);
      expect((await store.pageVideos({ upcomingOf: 'o-steps' }, 10)).map((v) => v.id)).toContain(first.id);
    }
    expect((await store.listVideosByOwner('o-steps')).map((v) => v.id).sort()).toEqual(
      [keyedVideoId('scope-steps-the hash'), keyedVideoId('scope-steps-the lists')].sort(),
    );
    expect(await store.countUpcoming('o-steps')).toBe(2);
  });

  it('lists a video where its status is when a start stopped after the hash, on the retry', async () => {
    const redis = client();
    const prefix = shared.prefix();
    const store = new RedisStore(redis, prefix);
    const video = await created(store.createVideo({ title: 'T', hlsUrl: 'h', ownerId: 'o-start' }));
    // (The store's one-time backfill of the indexes runs first, so it does not repair what follows.)
    expect(await store.countUpcoming('o-start')).toBe(1);
    // Step 1 of a start, and nothing after it.
    await redis.hset(`${prefix}:{v:${video.id}}`, 'status', 'live');
    expect((await store.pageVideos({ status: 'live' }, 10)).map((v) => v.id)).toEqual([]);
    expect(await store.setStatus(video.id, 'live')).toMatchObject({ video: { status: 'live' }, changed: false });
    expect((await store.pageVideos({ status: 'live' }, 10)).map((v) => v.id)).toEqual([video.id]);
    expect(await store.countUpcoming('o-start')).toBe(0);
    // A start repeated after the end leaves it ended, and listed as ended only.
    expect(await store.setStatus(video.id, 'ended')).toMatchObject({ changed: true });
    expect(await store.setStatus(video.id, 'live')).toMatchObject({ video: { status: 'ended' }, changed: false });
    expect((await store.pageVideos({ status: 'live' }, 10)).map((v) => v.id)).toEqual([]);
    expect((await store.pageVideos({ status: 'ended' }, 10)).map((v) => v.id)).toEqual([video.id]);
  });
});

describe('RedisStore on a cluster losing a master between the steps of a create', () => {
  it('fails the create after storing the video; the retry finishes it once the replica took over', async () => {
    const redis = shared.clusterClient();
    const cluster = shared.cluster();
    const prefix = shared.prefix();
    const store = new RedisStore(redis, prefix);
    const lists = `${prefix}:{videos}`;
    const listsMaster = await cluster.masterPortOf(lists);
    // A key whose video lives on another master than the lists: its hash is stored, its listing fails.
    let scope = '';
    for (let i = 0; !scope; i++) {
      const candidate = `scope-failover-${i}`;
      if ((await cluster.masterPortOf(`${prefix}:{v:${keyedVideoId(candidate)}}`)) !== listsMaster) scope = candidate;
    }
    const once = { scope, fingerprint: 'fp', videoId: keyedVideoId(scope) };
    const input = { title: 'Through a failover', hlsUrl: 'h', ownerId: 'o-failover' };
    await cluster.kill(listsMaster);
    try {
      await expect(store.createVideo(input, once)).rejects.toThrow();
      const stored = await store.getVideo(once.videoId);
      expect(stored).toMatchObject({ id: once.videoId, title: 'Through a failover' });
      expect(await store.recall(once)).toBeUndefined();
      await cluster.waitHealthy();
      await waitFor('the client to reach the new master of the lists', () => redis.zcard(lists).then(() => true), {
        timeoutMs: 20_000,
        tolerate: () => true,
      });
      expect(await store.createVideo(input, once)).toEqual(stored);
      expect((await store.listVideos()).map((v) => v.id)).toEqual([once.videoId]);
      expect(JSON.parse((await store.recall(once))?.result ?? 'null')).toEqual({ id: once.videoId });
    } finally {
      await cluster.restart(listsMaster);
      await cluster.waitHealthy();
    }
  });
});
