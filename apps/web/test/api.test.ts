import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '../../../test-support/poll.js';
import { TestViewer } from '../../../test-support/sse-client.js';
import * as session from '../app/api/session/route';
import * as oneBan from '../app/api/videos/[id]/bans/[userId]/route';
import * as bans from '../app/api/videos/[id]/bans/route';
import * as oneComment from '../app/api/videos/[id]/comments/[commentId]/route';
import * as comments from '../app/api/videos/[id]/comments/route';
import * as end from '../app/api/videos/[id]/end/route';
import * as likes from '../app/api/videos/[id]/likes/route';
import * as video from '../app/api/videos/[id]/route';
import * as start from '../app/api/videos/[id]/start/route';
import * as stats from '../app/api/videos/[id]/stats/route';
import * as videos from '../app/api/videos/route';
import { loadWebConfig } from '../lib/server/config';
import { createContext, setContext } from '../lib/server/context';
import { MAX_BANS_PER_VIDEO } from '../lib/server/moderation';
import { expectError, params, req, signIn, signUp, startServices, TOKEN } from './route-helpers';

/* The product API's route handlers, called as Next calls them, against a real dispatcher and node. */

let services: Awaited<ReturnType<typeof startServices>>;
let nodeUrl: string;

beforeAll(async () => {
  services = await startServices();
  nodeUrl = services.nodeUrl;
  setContext(
    createContext(
      loadWebConfig({
        INTERNAL_TOKEN: TOKEN,
        DISPATCHER_URLS: services.dispatcherUrl,
        LIKES_PER_SECOND: '20',
        COMMENTS_PER_SECOND: '1',
      }),
    ),
  );
});

afterAll(async () => {
  setContext(undefined);
  await services.close();
});

describe('product API', () => {
  it('signs a guest in with a display name and knows them by the cookie', async () => {
    const { cookie, user } = await signIn('  Ann  ');
    expect(user.name).toBe('Ann');
    const me = await session.GET(req('/api/session', { cookie }));
    expect(await me.json()).toEqual({ user });
    expect(await (await session.GET(req('/api/session'))).json()).toEqual({ user: null });
    expect(
      await (await session.GET(req('/api/session', { cookie: 'ovation_session=forged.token.here' }))).json(),
    ).toEqual({
      user: null,
    });
    await expectError(
      await session.POST(req('/api/session', { method: 'POST', body: { name: '   ' } })),
      400,
      'VALIDATION_FAILED',
    );
    await expectError(
      await session.POST(req('/api/session', { method: 'POST', body: { name: 'x'.repeat(41) } })),
      400,
      'VALIDATION_FAILED',
    );
    await expectError(
      await session.POST(req('/api/session', { method: 'POST', body: '{"name":' })),
      400,
      'INVALID_JSON',
    );
  });

  it('lists the demo video, live, without any set-up', async () => {
    const body = (await (await videos.GET(req('/api/videos'))).json()) as {
      videos: Array<{ id: string; status: string; hlsUrl: string }>;
    };
    expect(body.videos).toContainEqual(
      expect.objectContaining({ id: 'demo', status: 'live', hlsUrl: '/demo/live.m3u8' }),
    );
  });

  it('lets an account create a video it owns (a guest may not), and only it can start or end it', async () => {
    const owner = await signUp('Owner');
    const other = await signIn('Other');
    await expectError(
      await videos.POST(req('/api/videos', { method: 'POST', body: { title: 'Nope' } })),
      401,
      'UNAUTHORIZED',
    );
    // Broadcasting needs an account: a guest is refused, and no video is made for them.
    expect(
      await expectError(
        await videos.POST(req('/api/videos', { method: 'POST', body: { title: 'Guest show' }, cookie: other.cookie })),
        403,
        'ACCOUNT_REQUIRED',
      ),
    ).toMatch(/account/);
    expect(await (await videos.GET(req('/api/videos?owner=me', { cookie: other.cookie }))).json()).toEqual({
      videos: [],
    });
    await expectError(
      await videos.POST(req('/api/videos', { method: 'POST', body: { title: '' }, cookie: owner.cookie })),
      400,
      'VALIDATION_FAILED',
    );
    const created = await videos.POST(
      req('/api/videos', { method: 'POST', body: { title: 'My show' }, cookie: owner.cookie }),
    );
    expect(created.status).toBe(201);
    const { video: v } = (await created.json()) as {
      video: { id: string; ownerId: string; status: string; hlsUrl: string };
    };
    expect(v).toMatchObject({ ownerId: owner.user.id, status: 'upcoming', hlsUrl: '/demo/live.m3u8' });

    // A guest manages no video (managing needs the passkey); another account not someone else's.
    await expectError(
      await start.POST(
        req(`/api/videos/${v.id}/start`, { method: 'POST', cookie: other.cookie }),
        params({ id: v.id }),
      ),
      403,
      'ACCOUNT_REQUIRED',
    );
    await expectError(
      await start.POST(
        req(`/api/videos/${v.id}/start`, { method: 'POST', cookie: (await signUp('Other Account')).cookie }),
        params({ id: v.id }),
      ),
      403,
      'FORBIDDEN',
    );
    await expectError(
      await start.POST(req(`/api/videos/${v.id}/start`, { method: 'POST' }), params({ id: v.id })),
      401,
      'UNAUTHORIZED',
    );
    await expectError(
      await start.POST(req('/api/videos/nope/start', { method: 'POST', cookie: owner.cookie }), params({ id: 'nope' })),
      404,
      'NOT_FOUND',
    );

    const viewer = await TestViewer.connect(`${nodeUrl}/connect?topics=video:${v.id}`);
    const started = await start.POST(
      req(`/api/videos/${v.id}/start`, { method: 'POST', cookie: owner.cookie }),
      params({ id: v.id }),
    );
    expect(started.status).toBe(200);
    await waitFor('status live', () => viewer.events('status').some((e) => e.data.status === 'live'));
    expect(
      (
        (await (await video.GET(req(`/api/videos/${v.id}`), params({ id: v.id }))).json()) as {
          video: { status: string };
        }
      ).video.status,
    ).toBe('live');
    await end.POST(req(`/api/videos/${v.id}/end`, { method: 'POST', cookie: owner.cookie }), params({ id: v.id }));
    await waitFor('status ended', () => viewer.events('status').some((e) => e.data.status === 'ended'));
    viewer.close();
  });

  it('publishes likes and comments to the video topic and keeps the like total and comment history', async () => {
    const ann = await signIn('Ann');
    const viewer = await TestViewer.connect(`${nodeUrl}/connect?topics=video:demo`);
    await expectError(
      await likes.POST(req('/api/videos/demo/likes', { method: 'POST', body: {} }), params({ id: 'demo' })),
      401,
      'UNAUTHORIZED',
    );
    await expectError(
      await likes.POST(
        req('/api/videos/demo/likes', { method: 'POST', body: { count: 51 }, cookie: ann.cookie }),
        params({ id: 'demo' }),
      ),
      400,
      'VALIDATION_FAILED',
    );
    const liked = await likes.POST(
      req('/api/videos/demo/likes', { method: 'POST', body: { count: 3 }, cookie: ann.cookie }),
      params({ id: 'demo' }),
    );
    expect(liked.status).toBe(202);
    const { total, totals } = (await liked.json()) as { total: number; totals: Record<string, number> };
    await waitFor('like event', () => viewer.events('like').length === 1);
    expect(viewer.events('like')[0]?.data).toEqual({
      count: 3,
      byReaction: { like: 3 },
      total,
      totals,
      sample: [ann.user],
    });

    // Another reaction: the event names it, and the video's totals per reaction sum to its total.
    await expectError(
      await likes.POST(
        req('/api/videos/demo/likes', { method: 'POST', body: { reaction: 'wow' }, cookie: ann.cookie }),
        params({ id: 'demo' }),
      ),
      400,
      'VALIDATION_FAILED',
    );
    const loved = await likes.POST(
      req('/api/videos/demo/likes', { method: 'POST', body: { count: 2, reaction: 'love' }, cookie: ann.cookie }),
      params({ id: 'demo' }),
    );
    expect(loved.status).toBe(202);
    const after = (await loved.json()) as { total: number; totals: Record<string, number> };
    expect(after.total).toBe(total + 2);
    expect(after.totals).toEqual({ ...totals, love: (totals.love ?? 0) + 2 });
    await waitFor('love event', () => viewer.events('like').length === 2);
    expect(viewer.events('like')[1]?.data).toMatchObject({ count: 2, byReaction: { love: 2 }, totals: after.totals });
    const shown = (await (await video.GET(req('/api/videos/demo'), params({ id: 'demo' }))).json()) as {
      video: { likes: number; reactions: Record<string, number> };
    };
    expect(shown.video).toMatchObject({ likes: after.total, reactions: after.totals });

    const posted = await comments.POST(
      req('/api/videos/demo/comments', {
        method: 'POST',
        body: { text: '  <script>alert(1)</script> hi  ' },
        cookie: ann.cookie,
      }),
      params({ id: 'demo' }),
    );
    expect(posted.status).toBe(201);
    const { comment } = (await posted.json()) as { comment: { id: string; text: string } };
    expect(comment.text).toBe('<script>alert(1)</script> hi');
    await waitFor('comment event', () => viewer.events('comment').length === 1);
    expect(viewer.events('comment')[0]?.data).toMatchObject({
      id: comment.id,
      text: comment.text,
      author: ann.user,
      videoId: 'demo',
    });

    const history = (await (
      await comments.GET(req('/api/videos/demo/comments?limit=50'), params({ id: 'demo' }))
    ).json()) as {
      comments: Array<{ id: string }>;
    };
    expect(history.comments.at(-1)?.id).toBe(comment.id);
    viewer.close();
  });

  it('answers the contract errors for comments: unsigned, empty, too long, rate-limited, unknown video, bad query', async () => {
    const bo = await signIn('Bo');
    const post = (body: unknown, cookie?: string, id = 'demo') =>
      comments.POST(
        req(`/api/videos/${id}/comments`, { method: 'POST', body, ...(cookie ? { cookie } : {}) }),
        params({ id }),
      );
    await expectError(await post({ text: 'hi' }), 401, 'UNAUTHORIZED');
    expect(await expectError(await post({ text: '    ' }, bo.cookie), 400, 'VALIDATION_FAILED')).toContain('body.text');
    expect(await expectError(await post({ text: 'x'.repeat(501) }, bo.cookie), 400, 'VALIDATION_FAILED')).toContain(
      '500',
    );
    await expectError(await post({ text: 'x'.repeat(70 * 1024) }, bo.cookie), 413, 'PAYLOAD_TOO_LARGE');
    expect((await post({ text: 'first' }, bo.cookie)).status).toBe(201);
    const limited = await post({ text: 'second, too soon' }, bo.cookie);
    await expectError(limited, 429, 'RATE_LIMITED');
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    await expectError(await post({ text: 'hi' }, (await signIn('Cy')).cookie, 'no-such-video'), 404, 'NOT_FOUND');
    await expectError(
      await comments.GET(req('/api/videos/demo/comments?limit=0'), params({ id: 'demo' })),
      400,
      'VALIDATION_FAILED',
    );
  });

  it('rate-limits likes at the configured burst', async () => {
    const dee = await signIn('Dee');
    const tap = (count: number) =>
      likes.POST(
        req('/api/videos/demo/likes', { method: 'POST', body: { count }, cookie: dee.cookie }),
        params({ id: 'demo' }),
      );
    expect((await tap(15)).status).toBe(202);
    expect((await tap(5)).status).toBe(202);
    const refused = await tap(1);
    await expectError(refused, 429, 'RATE_LIMITED');
    expect(refused.headers.get('retry-after')).toBe('1');
  });

  it('lets only the owner delete a comment; viewers receive comment_deleted and history forgets it', async () => {
    const owner = await signUp('Host');
    const fan = await signIn('Fan');
    const created = (await (
      await videos.POST(req('/api/videos', { method: 'POST', body: { title: 'Mod' }, cookie: owner.cookie }))
    ).json()) as {
      video: { id: string };
    };
    const id = created.video.id;
    await start.POST(req(`/api/videos/${id}/start`, { method: 'POST', cookie: owner.cookie }), params({ id }));
    const viewer = await TestViewer.connect(`${nodeUrl}/connect?topics=video:${id}`);
    const posted = (await (
      await comments.POST(
        req(`/api/videos/${id}/comments`, { method: 'POST', body: { text: 'rude' }, cookie: fan.cookie }),
        params({ id }),
      )
    ).json()) as { comment: { id: string } };
    const del = (cookie?: string) =>
      oneComment.DELETE(
        req(`/api/videos/${id}/comments/${posted.comment.id}`, { method: 'DELETE', ...(cookie ? { cookie } : {}) }),
        params({ id, commentId: posted.comment.id }),
      );
    await expectError(await del(fan.cookie), 403, 'ACCOUNT_REQUIRED');
    await expectError(await del((await signUp('Fan Account')).cookie), 403, 'FORBIDDEN');
    await expectError(await del(), 401, 'UNAUTHORIZED');
    expect((await del(owner.cookie)).status).toBe(200);
    // A repeat (the owner's retry) answers the same and publishes nothing again.
    const repeat = await del(owner.cookie);
    expect([repeat.status, await repeat.json()]).toEqual([200, { deleted: true }]);
    await expectError(
      await oneComment.DELETE(
        req(`/api/videos/${id}/comments/never-was`, { method: 'DELETE', cookie: owner.cookie }),
        params({ id, commentId: 'never-was' }),
      ),
      404,
      'NOT_FOUND',
    );
    await waitFor('comment_deleted', () => viewer.events('comment_deleted').length >= 1);
    expect(viewer.events('comment_deleted').map((e) => e.data)).toEqual([{ id: posted.comment.id, videoId: id }]);
    const history = (await (await comments.GET(req(`/api/videos/${id}/comments`), params({ id }))).json()) as {
      comments: unknown[];
    };
    expect(history.comments).toEqual([]);
    viewer.close();
  });

  it('answers every owner-only action with 401 when signed out and 403 for anyone else', async () => {
    const owner = await signUp('Boss');
    const other = await signIn('Stranger');
    const rival = await signUp('Rival'); // another account: being one gives no right to others' videos
    const { video: v } = (await (
      await videos.POST(req('/api/videos', { method: 'POST', body: { title: 'Mine' }, cookie: owner.cookie }))
    ).json()) as { video: { id: string } };
    const id = v.id;
    const actions: Array<[string, (cookie?: string) => Promise<Response>]> = [
      ['start', (c) => start.POST(req(`/api/videos/${id}/start`, { method: 'POST', cookie: c }), params({ id }))],
      ['end', (c) => end.POST(req(`/api/videos/${id}/end`, { method: 'POST', cookie: c }), params({ id }))],
      [
        'delete comment',
        (c) =>
          oneComment.DELETE(
            req(`/api/videos/${id}/comments/x`, { method: 'DELETE', cookie: c }),
            params({ id, commentId: 'x' }),
          ),
      ],
      [
        'ban',
        (c) =>
          bans.POST(
            req(`/api/videos/${id}/bans`, { method: 'POST', body: { userId: 'u1', name: 'U' }, cookie: c }),
            params({ id }),
          ),
      ],
      ['list bans', (c) => bans.GET(req(`/api/videos/${id}/bans`, { cookie: c }), params({ id }))],
      [
        'unban',
        (c) =>
          oneBan.DELETE(
            req(`/api/videos/${id}/bans/u1`, { method: 'DELETE', cookie: c }),
            params({ id, userId: 'u1' }),
          ),
      ],
      ['stats', (c) => stats.GET(req(`/api/videos/${id}/stats`, { cookie: c }), params({ id }))],
    ];
    for (const [name, act] of actions) {
      expect([name, (await act()).status]).toEqual([name, 401]);
      expect([name, (await act(other.cookie)).status]).toEqual([name, 403]);
      await expectError(await act(other.cookie), 403, 'ACCOUNT_REQUIRED');
      await expectError(await act(rival.cookie), 403, 'FORBIDDEN');
    }
    for (const { cookie } of [other, rival]) {
      expect((await (await videos.GET(req('/api/videos?owner=me', { cookie }))).json()) as unknown).toEqual({
        videos: [],
      });
    }
    await expectError(await videos.GET(req('/api/videos?owner=me')), 401, 'UNAUTHORIZED');
    await expectError(await videos.GET(req('/api/videos?owner=you')), 400, 'VALIDATION_FAILED');
    const mine = (await (await videos.GET(req('/api/videos?owner=me', { cookie: owner.cookie }))).json()) as {
      videos: Array<{ id: string }>;
    };
    expect(mine.videos.map((x) => x.id)).toEqual([id]);
  });

  it('bans a viewer from commenting (403 BANNED) until unbanned, and gives the owner live stats', async () => {
    const owner = await signUp('Host2');
    const fan = await signIn('Troll');
    const { video: v } = (await (
      await videos.POST(req('/api/videos', { method: 'POST', body: { title: 'Stats' }, cookie: owner.cookie }))
    ).json()) as { video: { id: string } };
    const id = v.id;
    await start.POST(req(`/api/videos/${id}/start`, { method: 'POST', cookie: owner.cookie }), params({ id }));
    const say = (text: string) =>
      comments.POST(
        req(`/api/videos/${id}/comments`, { method: 'POST', body: { text }, cookie: fan.cookie }),
        params({ id }),
      );
    expect((await say('first')).status).toBe(201);
    await likes.POST(
      req(`/api/videos/${id}/likes`, { method: 'POST', body: { count: 4 }, cookie: fan.cookie }),
      params({ id }),
    );

    const banned = await bans.POST(
      req(`/api/videos/${id}/bans`, {
        method: 'POST',
        body: { userId: fan.user.id, name: 'Troll' },
        cookie: owner.cookie,
      }),
      params({ id }),
    );
    expect(banned.status).toBe(201);
    await expectError(
      await bans.POST(
        req(`/api/videos/${id}/bans`, {
          method: 'POST',
          body: { userId: owner.user.id, name: 'me' },
          cookie: owner.cookie,
        }),
        params({ id }),
      ),
      400,
      'VALIDATION_FAILED',
    );
    const message = await expectError(await say('again'), 403, 'BANNED');
    expect(message).toMatch(/commenting/);
    expect(
      await (await bans.GET(req(`/api/videos/${id}/bans`, { cookie: owner.cookie }), params({ id }))).json(),
    ).toEqual({
      bans: [fan.user],
    });
    const unban = () =>
      oneBan.DELETE(
        req(`/api/videos/${id}/bans/${fan.user.id}`, { method: 'DELETE', cookie: owner.cookie }),
        params({ id, userId: fan.user.id }),
      );
    expect((await unban()).status).toBe(200);
    await expectError(await unban(), 404, 'NOT_FOUND');
    // Comments are limited to one a second per user: poll until the limiter lets this one through.
    await waitFor('a comment after the unban', async () => (await say('back')).status === 201, { intervalMs: 200 });

    const body = (await (
      await stats.GET(req(`/api/videos/${id}/stats`, { cookie: owner.cookie }), params({ id }))
    ).json()) as {
      viewers: { count: number; byRegion: Record<string, number> };
      likes: number;
      activity: Array<{ minute: number; likes: number; comments: number }>;
      latency: unknown;
    };
    expect(body.likes).toBe(4);
    expect(body.viewers).toMatchObject({ count: 0, byRegion: { local: 0 } });
    expect(body.activity).toHaveLength(10);
    expect(body.activity.reduce((n, m) => n + m.likes, 0)).toBe(4);
    expect(body.activity.reduce((n, m) => n + m.comments, 0)).toBe(2);
    expect(body.latency).toMatchObject({ topic: `video:${id}`, count: 0 });
  });

  it('bans at most MAX_BANS_PER_VIDEO users per video (409 beyond), re-banning one is fine', async () => {
    const owner = await signUp('Strict');
    const { video: v } = (await (
      await videos.POST(req('/api/videos', { method: 'POST', body: { title: 'Bans' }, cookie: owner.cookie }))
    ).json()) as { video: { id: string } };
    const id = v.id;
    const banUser = (userId: string) =>
      bans.POST(
        req(`/api/videos/${id}/bans`, { method: 'POST', body: { userId, name: userId }, cookie: owner.cookie }),
        params({ id }),
      );
    for (let i = 0; i < MAX_BANS_PER_VIDEO; i++) expect((await banUser(`u${i}`)).status).toBe(201);
    await expectError(await banUser('one-too-many'), 409, 'CONFLICT');
    expect((await banUser('u7')).status).toBe(201);
  });

  it('publishes every status change on the `videos` topic too (lists update at once)', async () => {
    const owner = await signUp('Lister');
    const { video: v } = (await (
      await videos.POST(req('/api/videos', { method: 'POST', body: { title: 'Listed' }, cookie: owner.cookie }))
    ).json()) as { video: { id: string } };
    const list = await TestViewer.connect(`${nodeUrl}/connect?topics=videos`);
    await start.POST(req(`/api/videos/${v.id}/start`, { method: 'POST', cookie: owner.cookie }), params({ id: v.id }));
    await waitFor('the status on `videos`', () => list.events('status').some((e) => e.data.videoId === v.id));
    list.close();
  });
});
