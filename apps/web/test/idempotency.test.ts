import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '../../../test-support/poll.js';
import { TestRedisCluster } from '../../../test-support/redis-cluster.js';
import { TestRedis } from '../../../test-support/redis-server.js';
import { TestViewer } from '../../../test-support/sse-client.js';
import * as oneComment from '../app/api/videos/[id]/comments/[commentId]/route';
import * as comments from '../app/api/videos/[id]/comments/route';
import * as end from '../app/api/videos/[id]/end/route';
import * as likes from '../app/api/videos/[id]/likes/route';
import * as video from '../app/api/videos/[id]/route';
import * as start from '../app/api/videos/[id]/start/route';
import * as videos from '../app/api/videos/route';
import { loadWebConfig } from '../lib/server/config';
import { createContext, setContext, type WebContext } from '../lib/server/context';
import { likeFingerprint } from '../lib/server/likes';
import { createRedisClient } from '../lib/server/redis-client';
import { FaultProxy } from './fault-proxy';
import { expectError, params, req, signIn, signUp, startServices, TOKEN } from './route-helpers';

/*
 * Retry-safe writes, with each store driver: a repeat with the same Idempotency-Key answers the
 * first answer and changes nothing, and a write that was stored but could not be published (the
 * dispatcher tier refused: 503) is published — once — by the retry. The web reaches a real
 * dispatcher through a FaultProxy that can refuse everything.
 */

let services: Awaited<ReturnType<typeof startServices>>;
let proxy: FaultProxy;
let redis: TestRedis;
let cluster: TestRedisCluster;

beforeAll(async () => {
  services = await startServices();
  proxy = await FaultProxy.start(services.dispatcherUrl);
  [redis, cluster] = await Promise.all([TestRedis.start(), TestRedisCluster.start()]);
});

afterAll(async () => {
  setContext(undefined);
  await proxy.close();
  await services.close();
  await Promise.all([redis.stop(), cluster.stop()]);
});

const config = (extra: Record<string, string> = {}) =>
  loadWebConfig({
    INTERNAL_TOKEN: TOKEN,
    DISPATCHER_URLS: proxy.url,
    LIKES_PER_SECOND: '20',
    COMMENTS_PER_SECOND: '1',
    ...extra,
  });

const drivers: Array<[string, () => { context: WebContext; close(): void }]> = [
  ['memory', () => ({ context: createContext(config()), close: () => {} })],
  ['redis', () => redisContext({ REDIS_URL: redis.url })],
  ['redis cluster', () => redisContext({ REDIS_CLUSTER_NODES: cluster.seeds })],
];

/** A context in Redis mode, its client opened from the config as the web's own is. */
function redisContext(target: Record<string, string>): { context: WebContext; close(): void } {
  const web = config({ ...target, REDIS_PREFIX: `idem-${Date.now()}` });
  if (!web.redis) throw new Error('expected a Redis target');
  const client = createRedisClient(web.redis);
  return { context: createContext(web, client), close: () => client.redis.disconnect() };
}

type Json = Record<string, unknown>;

describe.each(drivers)('retry-safe writes (%s store)', (_name, make) => {
  let close = () => {};
  beforeAll(() => {
    const built = make();
    setContext(built.context);
    close = built.close;
    proxy.down = false;
  });
  afterAll(() => close());

  async function liveVideo(): Promise<{ id: string; owner: { cookie: string } }> {
    const owner = await signUp('Owner');
    const created = await videos.POST(
      req('/api/videos', { method: 'POST', body: { title: 'Show' }, cookie: owner.cookie }),
    );
    const { video: v } = (await created.json()) as { video: { id: string } };
    expect(
      (
        await start.POST(
          req(`/api/videos/${v.id}/start`, { method: 'POST', cookie: owner.cookie }),
          params({ id: v.id }),
        )
      ).status,
    ).toBe(200);
    return { id: v.id, owner };
  }

  const postComment = (id: string, cookie: string, text: string, key?: string) =>
    comments.POST(
      req(`/api/videos/${id}/comments`, {
        method: 'POST',
        body: { text },
        cookie,
        ...(key === undefined ? {} : { headers: { 'idempotency-key': key } }),
      }),
      params({ id }),
    );
  const postLikes = (id: string, cookie: string, count: number, key?: string) =>
    likes.POST(
      req(`/api/videos/${id}/likes`, {
        method: 'POST',
        body: { count },
        cookie,
        ...(key === undefined ? {} : { headers: { 'idempotency-key': key } }),
      }),
      params({ id }),
    );
  const listed = async (id: string) =>
    (
      (await (await comments.GET(req(`/api/videos/${id}/comments?limit=200`), params({ id }))).json()) as {
        comments: Json[];
      }
    ).comments;
  const likeTotal = async (id: string) =>
    ((await (await video.GET(req(`/api/videos/${id}`), params({ id }))).json()) as { video: { likes: number } }).video
      .likes;

  /**
   * Events of a topic reach a viewer in publish order: once a marker published after the writes
   * under test has arrived, anything they published has arrived too, and can be counted.
   */
  async function settle(viewer: TestViewer, id: string): Promise<void> {
    const marker = `marker ${Math.random()}`;
    const someone = await signIn('Marker');
    expect((await postComment(id, someone.cookie, marker)).status).toBe(201);
    await waitFor(`the marker on ${id}`, () => viewer.events('comment').some((e) => e.data.text === marker));
  }

  it('answers a repeated comment with the first comment and stores nothing (not even rate-limited)', async () => {
    const { id } = await liveVideo();
    const viewer = await TestViewer.connect(`${services.nodeUrl}/connect?topics=video:${id}`);
    const ann = await signIn('Ann');
    const first = await postComment(id, ann.cookie, 'hello once', 'key-1');
    expect(first.status).toBe(201);
    const firstBody = (await first.json()) as { comment: { id: string } };
    // A second within the same second: one comment a second would refuse a new comment (429).
    const repeat = await postComment(id, ann.cookie, 'hello once', 'key-1');
    expect([repeat.status, await repeat.json()]).toEqual([201, firstBody]);
    expect((await listed(id)).filter((c) => c.text === 'hello once').map((c) => c.id)).toEqual([firstBody.comment.id]);
    await settle(viewer, id);
    expect(viewer.events('comment').filter((e) => e.data.text === 'hello once')).toHaveLength(1);
    expect(proxy.publishesWith(`web:comment:${firstBody.comment.id}`)).toBe(1);
    viewer.close();
  });

  it('counts a repeated like batch once and answers its first total', async () => {
    const { id } = await liveVideo();
    const viewer = await TestViewer.connect(`${services.nodeUrl}/connect?topics=video:${id}`);
    const bo = await signIn('Bo');
    const first = await postLikes(id, bo.cookie, 3, 'batch-1');
    expect([first.status, await first.json()]).toEqual([202, { total: 3, totals: { like: 3 } }]);
    const repeat = await postLikes(id, bo.cookie, 3, 'batch-1');
    expect([repeat.status, await repeat.json()]).toEqual([202, { total: 3, totals: { like: 3 } }]);
    // Another batch (another key) counts.
    expect(await (await postLikes(id, bo.cookie, 2, 'batch-2')).json()).toEqual({ total: 5, totals: { like: 5 } });
    expect(await likeTotal(id)).toBe(5);
    await settle(viewer, id);
    expect(viewer.events('like').reduce((n, e) => n + Number(e.data.count), 0)).toBe(5);
    viewer.close();
  });

  it('recognises a keyed like batch as before reactions, so a retry across the upgrade finds its first attempt', () => {
    expect(likeFingerprint('v1', { count: 3, reaction: 'like' })).toEqual(['like', 'v1', 3]);
    expect(likeFingerprint('v1', { count: 3, reaction: 'love' })).toEqual(['like', 'v1', 3, 'love']);
  });

  it('keeps writes without a key as they were: each one counts', async () => {
    const { id } = await liveVideo();
    const cy = await signIn('Cy');
    expect((await postLikes(id, cy.cookie, 2)).status).toBe(202);
    expect(await (await postLikes(id, cy.cookie, 2)).json()).toEqual({ total: 4, totals: { like: 4 } });
  });

  it('stored a comment but could not publish it (503): the retry publishes it once and answers 201', async () => {
    const { id } = await liveVideo();
    const viewer = await TestViewer.connect(`${services.nodeUrl}/connect?topics=video:${id}`);
    const dee = await signIn('Dee');
    proxy.down = true;
    const failed = await postComment(id, dee.cookie, 'through the outage', 'key-outage');
    await expectError(failed, 503, 'UNAVAILABLE');
    expect(failed.headers.get('retry-after')).toBe('1');
    // The store step happened: the comment is there, and nobody saw it yet.
    const stored = (await listed(id)).filter((c) => c.text === 'through the outage');
    expect(stored).toHaveLength(1);
    proxy.down = false;
    const retry = await postComment(id, dee.cookie, 'through the outage', 'key-outage');
    expect(retry.status).toBe(201);
    expect(((await retry.json()) as { comment: Json }).comment).toEqual(stored[0]);
    // And again (the answer to the retry was lost, say): the same answer, nothing published.
    expect((await postComment(id, dee.cookie, 'through the outage', 'key-outage')).status).toBe(201);
    expect((await listed(id)).filter((c) => c.text === 'through the outage')).toHaveLength(1);
    await settle(viewer, id);
    expect(viewer.events('comment').filter((e) => e.data.text === 'through the outage')).toHaveLength(1);
    expect(proxy.publishesWith(`web:comment:${String(stored[0]?.id)}`)).toBe(1);
    viewer.close();
  });

  it('stored a like batch but could not publish it (503): the retry publishes it and it counts once', async () => {
    const { id } = await liveVideo();
    const viewer = await TestViewer.connect(`${services.nodeUrl}/connect?topics=video:${id}`);
    const eve = await signIn('Eve');
    proxy.down = true;
    await expectError(await postLikes(id, eve.cookie, 4, 'likes-outage'), 503, 'UNAVAILABLE');
    proxy.down = false;
    const retry = await postLikes(id, eve.cookie, 4, 'likes-outage');
    expect([retry.status, await retry.json()]).toEqual([202, { total: 4, totals: { like: 4 } }]);
    expect((await postLikes(id, eve.cookie, 4, 'likes-outage')).status).toBe(202);
    expect(await likeTotal(id)).toBe(4);
    await settle(viewer, id);
    expect(viewer.events('like').map((e) => [e.data.count, e.data.total])).toEqual([[4, 4]]);
    viewer.close();
  });

  it('deleted a comment but could not publish it: the retry answers 200 and publishes comment_deleted once', async () => {
    const { id, owner } = await liveVideo();
    const viewer = await TestViewer.connect(`${services.nodeUrl}/connect?topics=video:${id}`);
    const fan = await signIn('Fan');
    const { comment } = (await (await postComment(id, fan.cookie, 'rude')).json()) as { comment: { id: string } };
    const del = () =>
      oneComment.DELETE(
        req(`/api/videos/${id}/comments/${comment.id}`, { method: 'DELETE', cookie: owner.cookie }),
        params({ id, commentId: comment.id }),
      );
    proxy.down = true;
    await expectError(await del(), 503, 'UNAVAILABLE');
    proxy.down = false;
    expect([(await del()).status, (await del()).status]).toEqual([200, 200]);
    expect(await listed(id)).toEqual([]);
    await settle(viewer, id);
    expect(viewer.events('comment_deleted').map((e) => e.data)).toEqual([{ id: comment.id, videoId: id }]);
    expect(proxy.publishesWith(`web:comment_deleted:${comment.id}`)).toBe(1);
    viewer.close();
  });

  it('does not publish a comment the owner deleted before its author retried', async () => {
    const { id, owner } = await liveVideo();
    const viewer = await TestViewer.connect(`${services.nodeUrl}/connect?topics=video:${id}`);
    const gil = await signIn('Gil');
    proxy.down = true;
    await expectError(await postComment(id, gil.cookie, 'deleted meanwhile', 'key-del'), 503, 'UNAVAILABLE');
    proxy.down = false;
    const [stored] = await listed(id);
    const commentId = String(stored?.id);
    expect(
      (
        await oneComment.DELETE(
          req(`/api/videos/${id}/comments/${commentId}`, { method: 'DELETE', cookie: owner.cookie }),
          params({ id, commentId }),
        )
      ).status,
    ).toBe(200);
    const retry = await postComment(id, gil.cookie, 'deleted meanwhile', 'key-del');
    expect([retry.status, ((await retry.json()) as { comment: Json }).comment]).toEqual([201, stored]);
    await settle(viewer, id);
    expect(viewer.events('comment').filter((e) => e.data.text === 'deleted meanwhile')).toEqual([]);
    expect(proxy.publishesWith(`web:comment:${commentId}`)).toBe(0);
    viewer.close();
  });

  it('started a video but could not publish its status: the retry publishes it once; an ended video stays ended', async () => {
    const owner = await signUp('Host');
    const { video: v } = (await (
      await videos.POST(req('/api/videos', { method: 'POST', body: { title: 'Later' }, cookie: owner.cookie }))
    ).json()) as { video: { id: string } };
    const id = v.id;
    const viewer = await TestViewer.connect(`${services.nodeUrl}/connect?topics=video:${id}`);
    const act = (route: typeof start | typeof end, what: string) =>
      route.POST(req(`/api/videos/${id}/${what}`, { method: 'POST', cookie: owner.cookie }), params({ id }));
    proxy.down = true;
    await expectError(await act(start, 'start'), 503, 'UNAVAILABLE');
    proxy.down = false;
    expect([(await act(start, 'start')).status, (await act(start, 'start')).status]).toEqual([200, 200]);
    expect((await act(end, 'end')).status).toBe(200);
    await expectError(await act(start, 'start'), 409, 'CONFLICT');
    // `ended` was published after the retries: once it is here, any second `live` would be too.
    await waitFor('status ended', () => viewer.events('status').some((e) => e.data.status === 'ended'));
    expect(viewer.events('status').map((e) => e.data.status)).toEqual(['live', 'ended']);
    expect(proxy.publishesWith(`web:status:${id}:live`)).toBe(1);
    viewer.close();
  });

  it('creates one video per key, and scopes keys per user', async () => {
    const hal = await signUp('Hal');
    const ivy = await signUp('Ivy');
    const create = (cookie: string, key: string) =>
      videos.POST(
        req('/api/videos', { method: 'POST', body: { title: 'Keyed' }, cookie, headers: { 'idempotency-key': key } }),
      );
    const first = (await (await create(hal.cookie, 'same')).json()) as { video: { id: string } };
    const repeat = await create(hal.cookie, 'same');
    expect(repeat.status).toBe(201);
    expect(((await repeat.json()) as { video: { id: string } }).video.id).toBe(first.video.id);
    const mine = (await (await videos.GET(req('/api/videos?owner=me', { cookie: hal.cookie }))).json()) as {
      videos: Array<{ id: string }>;
    };
    expect(mine.videos.map((x) => x.id)).toEqual([first.video.id]);
    // Another user's same key is another request.
    const theirs = (await (await create(ivy.cookie, 'same')).json()) as { video: { id: string } };
    expect(theirs.video.id).not.toBe(first.video.id);
    // A guest's keyed request is refused as any guest's is: a key never stands in for an account.
    await expectError(await create((await signIn('Guest')).cookie, 'same'), 403, 'ACCOUNT_REQUIRED');
  });

  it('refuses a key reused for another request (409) and a malformed key (400 naming the header)', async () => {
    const { id } = await liveVideo();
    const jo = await signIn('Jo');
    expect((await postComment(id, jo.cookie, 'first text', 'reused')).status).toBe(201);
    const message = await expectError(await postComment(id, jo.cookie, 'other text', 'reused'), 409, 'CONFLICT');
    expect(message).toContain('Idempotency-Key');
    await expectError(await postLikes(id, jo.cookie, 1, 'reused'), 409, 'CONFLICT');
    for (const bad of ['   ', 'x'.repeat(129), 'caf\u00e9']) {
      const refused = await expectError(await postLikes(id, jo.cookie, 1, bad), 400, 'VALIDATION_FAILED');
      expect(refused).toContain('headers.Idempotency-Key');
    }
    expect(await likeTotal(id)).toBe(0);
  });
});
