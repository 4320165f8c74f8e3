import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TestRedis } from '../../../test-support/redis-server.js';
import { RedisStore } from '../lib/server/store/redis-store';
import { keyedVideoId, minuteOf, videoResult } from '../lib/server/store/store';
import { migrateRedis } from '../scripts/migrate-redis.mjs';

/*
 * A store written by the single-server layout (before commit 1685906), written here key by key as
 * that code wrote it, is moved by scripts/migrate-redis.mjs and read back through the new
 * RedisStore's own API.
 */

const SCRIPT = fileURLToPath(new URL('../scripts/migrate-redis.mjs', import.meta.url));
const p = 'ovation-web';
const ann = { id: 'u-ann', name: 'Ann' };
const bob = { id: 'u-bob', name: 'Bob' };
const troll = { id: 'u-troll', name: 'Troll' };
const t0 = Date.parse('2026-11-01T10:00:00.000Z');
const videos = [
  { id: 'va1upcoming', ownerId: ann.id, ownerName: ann.name, status: 'upcoming', title: 'Soon', at: t0 + 3000 },
  { id: 'va2live', ownerId: ann.id, ownerName: ann.name, status: 'live', title: 'Now', at: t0 + 2000 },
  { id: 'vb3ended', ownerId: bob.id, ownerName: bob.name, status: 'ended', title: 'Done', at: t0 + 1000 },
] as const;
const live = 'va2live';
const comments = ['first', 'second', 'third'].map((text, i) => ({
  id: `0000000${i}0000-web-test`,
  videoId: live,
  author: i === 1 ? bob : ann,
  text,
  at: new Date(t0 + 10_000 + i).toISOString(),
}));
const deletedCommentId = '00000009000-web-test';
const createScope = 'scope-create-ann';
const commentScope = 'scope-comment-ann';
const likeScope = 'scope-like-bob';

/** The old layout, as the code before 1685906 wrote it. */
async function writeOldLayout(redis: Redis) {
  const now = Date.now();
  const m = redis.multi();
  for (const v of videos) {
    m.hset(`${p}:video:${v.id}`, {
      title: v.title,
      status: v.status,
      hlsUrl: '/demo/live.m3u8',
      ownerId: v.ownerId,
      ownerName: v.ownerName,
      createdAt: new Date(v.at).toISOString(),
      likes: v.id === live ? '7' : '0',
    });
    m.zadd(`${p}:videos`, v.at, v.id);
    m.zadd(`${p}:owner:${v.ownerId}:videos`, v.at, v.id);
    if (v.status === 'upcoming') m.zadd(`${p}:owner:${v.ownerId}:upcoming`, v.at, v.id);
    else m.zadd(`${p}:videos:${v.status}`, v.at, v.id);
  }
  m.set(`${p}:indexed`, '1');
  m.rpush(`${p}:video:${live}:comments`, ...comments.map((c) => JSON.stringify(c)));
  m.set(`${p}:video:${live}:deleted:${deletedCommentId}`, '1', 'PX', 600_000);
  m.hset(`${p}:video:${live}:activity:${minuteOf(now)}`, 'likes', '7', 'comments', '3');
  m.pexpire(`${p}:video:${live}:activity:${minuteOf(now)}`, 660_000);
  m.hset(`${p}:video:${live}:bans`, troll.id, troll.name);
  m.sadd(`${p}:video:${live}:ban-addrs:${troll.id}`, '203.0.113.9', '2001:db8::9');
  m.pexpire(`${p}:video:${live}:ban-addrs:${troll.id}`, 3_600_000);
  for (const address of ['203.0.113.9', '2001:db8::9']) {
    m.set(`${p}:video:${live}:ban-addr:${address}`, troll.id, 'PX', 3_600_000);
  }
  m.zadd(`${p}:user:${ann.id}:addrs`, now - 1000, '198.51.100.1', now, '2001:db8::1');
  m.pexpire(`${p}:user:${ann.id}:addrs`, 86_400_000);
  // Once records: a keyed create (its result names the old, random id), a comment, a like.
  m.hset(`${p}:once:${createScope}`, 'f', 'fp-create', 'r', videoResult('va1upcoming'));
  m.hset(`${p}:once:${commentScope}`, 'f', 'fp-comment', 'r', JSON.stringify(comments[2]));
  m.hset(`${p}:once:${likeScope}`, 'f', 'fp-like', 'r', JSON.stringify({ total: 7, count: 2 }));
  for (const scope of [createScope, commentScope, likeScope]) m.pexpire(`${p}:once:${scope}`, 600_000);
  // The same name in both layouts.
  m.set(`${p}:revoked:session-1`, '1', 'PX', 3_600_000);
  m.set(`${p}:published:web:like:k1`, '1', 'PX', 600_000);
  m.set(`${p}:rl:likes:${ann.id}`, '3');
  // Not the store's to move: unknown shapes, the dispatcher's keys, another stack.
  m.set(`${p}:video:va2live:mystery`, 'x');
  m.set(`${p}:something-else`, 'x');
  m.rpush(`${p}:topic:video:va2live`, 'event');
  m.hset(`${p}:nodes`, 'n1', 'http://n1');
  m.set(`${p}:{regions}:eu`, 'x');
  m.hset(`other:video:va2live`, 'title', 'another stack');
  m.zadd(`other:videos`, 1, 'va2live');
  await m.exec();
}

/** Every key with its TTL and value (DUMP), for "nothing changed". */
async function snapshot(redis: Redis): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const key of (await redis.keys('*')).sort()) {
    const [dump, ttl] = await Promise.all([redis.dumpBuffer(key), redis.pttl(key)]);
    out[key] = `${ttl > 0 ? 'ttl' : ttl} ${dump?.toString('base64')}`;
  }
  return out;
}

describe('migrate-redis: the single-server layout to the cluster layout', () => {
  let server: TestRedis;
  let redis: Redis;
  let storeClient: Redis;
  let store: RedisStore;
  let before: Record<string, string>;
  let untouched: Record<string, string>;

  beforeAll(async () => {
    server = await TestRedis.start();
    redis = server.client();
    await writeOldLayout(redis);
    // A new-layout key already there: the marker a new process set on its first page (the same
    // value), and a studio list someone wrote since (another value).
    await redis.set(`${p}:{videos}:indexed`, '1');
    await redis.zadd(`${p}:owner:u-cat:videos`, 1, 'old-cat-video');
    await redis.zadd(`${p}:{u:u-cat}:videos`, 2, 'new-cat-video');
    before = await snapshot(redis);
    untouched = Object.fromEntries(
      Object.entries(before).filter(
        ([key]) =>
          key.includes('{') ||
          !key.startsWith(`${p}:`) ||
          /:(topic|nodes|rl|revoked|published|once:scope-like|video:va2live:mystery|something-else)/.test(key),
      ),
    );
    storeClient = server.client();
    store = new RedisStore(storeClient, p);
  });

  afterAll(async () => {
    redis?.disconnect();
    storeClient?.disconnect();
    await server?.stop();
  });

  it('a dry run reports what it would do and changes nothing', async () => {
    const summary = await migrateRedis(redis, { prefix: p, dryRun: true });
    expect(summary).toMatchObject({ moved: 19, alreadyThere: 1, conflicts: 1, unplaced: 1, unknown: 2, unchanged: 3 });
    expect(await snapshot(redis)).toEqual(before);
  });

  it('moves the old keys (the command as an operator runs it), keeping their TTLs', async () => {
    const run = spawnSync(process.execPath, [SCRIPT], {
      env: { ...process.env, REDIS_URL: server.url, REDIS_PREFIX: p },
      encoding: 'utf8',
    });
    // A conflict is left for the operator: exit status 1, the key named.
    expect(run.stderr).toBe('');
    expect(run.status).toBe(1);
    expect(run.stdout).toMatch(/moved\s+19\b/);
    expect(run.stdout).toMatch(/already there\s+1\b/);
    expect(run.stdout).toContain(`${p}:owner:u-cat:videos -> ${p}:{u:u-cat}:videos`);
    expect(run.stdout).toContain(`${p}:once:${likeScope}`);

    const after = await snapshot(redis);
    // Of the old layout only what is not the store's to move, or not movable, is left.
    expect(Object.keys(after).filter((key) => key.startsWith(`${p}:`) && !key.includes('{'))).toEqual([
      `${p}:nodes`,
      `${p}:once:${likeScope}`,
      `${p}:owner:u-cat:videos`,
      `${p}:published:web:like:k1`,
      `${p}:revoked:session-1`,
      `${p}:rl:likes:${ann.id}`,
      `${p}:something-else`,
      `${p}:topic:video:va2live`,
      `${p}:video:va2live:mystery`,
    ]);
    // Other stacks, the dispatcher's keys, unknown shapes and what kept its name: as they were.
    for (const [key, value] of Object.entries(untouched)) expect(after[key], key).toBe(value);
    expect(await redis.zrange(`${p}:{u:u-cat}:videos`, 0, -1)).toEqual(['new-cat-video']);
    expect(await redis.pttl(`${p}:{v:${live}}:deleted:${deletedCommentId}`)).toBeGreaterThan(500_000);
    expect(await redis.pttl(`${p}:{u:${ann.id}}:addrs`)).toBeGreaterThan(80_000_000);
    expect(await redis.pttl(`${p}:{v:${keyedVideoId(createScope)}}:once:${createScope}`)).toBeGreaterThan(500_000);
  });

  it('the new store reads back the videos, comments, likes, bans and the owner lists', async () => {
    expect((await store.listVideos()).map((v) => v.id)).toEqual(['va1upcoming', 'va2live', 'vb3ended']);
    expect(await store.getVideo(live)).toEqual({
      id: live,
      title: 'Now',
      status: 'live',
      hlsUrl: '/demo/live.m3u8',
      ownerId: ann.id,
      ownerName: ann.name,
      createdAt: new Date(t0 + 2000).toISOString(),
      likes: 7,
      // A video from before reactions: every like a `like`.
      reactions: { like: 7 },
    });
    expect(await store.listComments(live, 50)).toEqual(comments);
    expect(await store.deleteComment(live, deletedCommentId)).toBe('gone');
    expect((await store.activity(live)).at(-1)).toMatchObject({ likes: 7, comments: 3 });
    expect(await store.listBans(live)).toEqual([troll]);
    expect(await store.isBanned(live, troll.id)).toBe(true);
    expect(await store.isAddressBanned(live, '2001:db8::9')).toBe(true);
    expect((await store.listVideosByOwner(ann.id)).map((v) => v.id)).toEqual(['va1upcoming', 'va2live']);
    expect((await store.listVideosByOwner(bob.id)).map((v) => v.id)).toEqual(['vb3ended']);
    expect((await store.pageVideos({ upcomingOf: ann.id }, 10)).map((v) => v.id)).toEqual(['va1upcoming']);
    expect((await store.pageVideos({ status: 'live' }, 10)).map((v) => v.id)).toEqual(['va2live']);
    expect((await store.pageVideos({ status: 'ended' }, 10)).map((v) => v.id)).toEqual(['vb3ended']);
    expect(await store.countUpcoming(ann.id)).toBe(1);
    expect(await store.recentAddresses(ann.id)).toEqual(['2001:db8::1', '198.51.100.1']);
    expect(await store.isSessionRevoked('session-1')).toBe(true);
    expect(await store.wasPublished('web:like:k1')).toBe(true);
    // A keyed create repeated after the upgrade finds its record (and the old video's id in it).
    const create = { scope: createScope, fingerprint: 'fp-create', videoId: keyedVideoId(createScope) };
    expect(await store.recall(create)).toEqual({ fingerprint: 'fp-create', result: videoResult('va1upcoming') });
    const comment = { scope: commentScope, fingerprint: 'fp-comment', videoId: live };
    expect(await store.recall(comment)).toEqual({ fingerprint: 'fp-comment', result: JSON.stringify(comments[2]) });
    // And writes on the moved data carry on from it.
    expect(await store.addLikes(live, 1)).toEqual({ total: 8, totals: { like: 8 } });
  });

  it('a second run changes nothing and reports what it left', async () => {
    const first = await snapshot(redis);
    const summary = await migrateRedis(redis, { prefix: p, count: 2 });
    expect(summary).toMatchObject({ moved: 0, alreadyThere: 0, conflicts: 1, unplaced: 1, unknown: 2, unchanged: 3 });
    expect(summary.examples.conflicts).toEqual([`${p}:owner:u-cat:videos -> ${p}:{u:u-cat}:videos`]);
    expect(summary.examples.unknown.sort()).toEqual([`${p}:something-else`, `${p}:video:va2live:mystery`]);
    expect(await snapshot(redis)).toEqual(first);
  });
});
