import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as session from '../app/api/session/route';
import * as comments from '../app/api/videos/[id]/comments/route';
import * as end from '../app/api/videos/[id]/end/route';
import * as start from '../app/api/videos/[id]/start/route';
import * as videos from '../app/api/videos/route';
import { CLIENT_ADDRESS_HEADER } from '../lib/server/client-address';
import { loadWebConfig } from '../lib/server/config';
import { context, createContext, setContext } from '../lib/server/context';
import { budgetsFromEnv, DEFAULT_BUDGETS, MAX_UPCOMING_PER_USER } from '../lib/server/rate-limit';
import { cookieAttributes, expectError, params, req, signIn, signUp, startServices, TOKEN } from './route-helpers';

/* Sessions (sign-out, rename), the paged video list, room names and video quotas, through the route handlers. */

let services: Awaited<ReturnType<typeof startServices>>;

beforeAll(async () => {
  services = await startServices();
  setContext(createContext(loadWebConfig({ INTERNAL_TOKEN: TOKEN, DISPATCHER_URLS: services.dispatcherUrl })));
});

afterAll(async () => {
  setContext(undefined);
  await services.close();
});

type Video = { id: string; status: string; ownerId: string; viewers: number };
type Page = { videos: Video[]; next: string | null };

async function create(cookie: string, title: string, headers: Record<string, string> = {}) {
  const response = await videos.POST(req('/api/videos', { method: 'POST', cookie, body: { title }, headers }));
  expect(response.status).toBe(201);
  return ((await response.json()) as { video: Video }).video;
}

async function list(query = '', cookie?: string): Promise<Page> {
  const response = await videos.GET(req(`/api/videos${query}`, cookie ? { cookie } : {}));
  expect(response.status).toBe(200);
  return (await response.json()) as Page;
}

describe('sessions', () => {
  it('signs out: the cookie is cleared and the session id revoked, so a copy of it is refused', async () => {
    const { cookie, user } = await signIn('Leaving');
    expect(await (await session.GET(req('/api/session', { cookie }))).json()).toEqual({ user });
    const out = await session.DELETE(req('/api/session', { method: 'DELETE', cookie }));
    expect(out.status).toBe(200);
    expect(await out.json()).toEqual({ user: null });
    const cleared = out.headers.get('set-cookie') ?? '';
    expect(cleared).toMatch(/^ovation_session=;/);
    expect(cookieAttributes(cleared)).toMatchObject({ path: '/', httponly: '', samesite: 'lax', 'max-age': '0' });
    expect(await (await session.GET(req('/api/session', { cookie }))).json()).toEqual({ user: null });
    await expectError(
      await videos.POST(req('/api/videos', { method: 'POST', cookie, body: { title: 'after sign-out' } })),
      401,
      'UNAUTHORIZED',
    );
    // Signing out again (or when signed out) answers the same.
    expect((await session.DELETE(req('/api/session', { method: 'DELETE', cookie }))).status).toBe(200);
  });

  it('renames a guest under the same id: a video they own stays theirs, managed once the guest becomes an account; the upgrade ends every cookie of the guest session', async () => {
    const first = await signIn('Before');
    // A guest creates no video (broadcasting needs an account), but one can own a video made
    // before accounts, under the same user id: ownership is by id, and a rename keeps it.
    await expectError(
      await videos.POST(req('/api/videos', { method: 'POST', cookie: first.cookie, body: { title: 'mine' } })),
      403,
      'ACCOUNT_REQUIRED',
    );
    const video = await context().store.createVideo({
      title: 'mine',
      hlsUrl: '/demo/live.m3u8',
      ownerId: first.user.id,
      ownerName: first.user.name,
    });
    if (!video) throw new Error('expected the video to be stored');
    const renamed = await session.POST(
      req('/api/session', { method: 'POST', cookie: first.cookie, body: { name: 'After' } }),
    );
    expect(renamed.status).toBe(200);
    const { user } = (await renamed.json()) as { user: { id: string; name: string } };
    expect(user).toEqual({ id: first.user.id, name: 'After' });
    const cookie = (renamed.headers.get('set-cookie') ?? '').split(';')[0] as string;
    expect(await (await session.GET(req('/api/session', { cookie }))).json()).toEqual({ user });
    // Managing it needs the passkey: the guest gets ACCOUNT_REQUIRED, and the same identity
    // upgraded to an account (same id) manages it.
    const startWith = (c: string) =>
      start.POST(req(`/api/videos/${video.id}/start`, { method: 'POST', cookie: c }), params({ id: video.id }));
    await expectError(await startWith(cookie), 403, 'ACCOUNT_REQUIRED');
    const upgraded = await signUp('After', { cookie });
    expect(upgraded.user.id).toBe(first.user.id);
    expect((await startWith(upgraded.cookie)).status).toBe(200);
    // The cookies before the upgrade (the renamed one and the first: one session) end with it.
    for (const stale of [cookie, first.cookie]) {
      expect(await (await session.GET(req('/api/session', { cookie: stale }))).json()).toEqual({ user: null });
    }
  });

  it('a thief who renames a copied cookie is signed out with the victim, and a rename never extends a session', async () => {
    const victim = await signIn('Victim');
    const exp = (cookie: string) =>
      (JSON.parse(Buffer.from(cookie.split('.')[1] ?? '', 'base64url').toString()) as { exp: number }).exp;
    const forked = await session.POST(
      req('/api/session', { method: 'POST', cookie: victim.cookie, body: { name: 'Victim' } }),
    );
    const thief = (forked.headers.get('set-cookie') ?? '').split(';')[0] as string;
    expect(exp(thief)).toBe(exp(victim.cookie));
    // The victim still has their session, and signing out ends the thief's fork too.
    expect(
      ((await (await session.GET(req('/api/session', { cookie: victim.cookie }))).json()) as { user: unknown }).user,
    ).not.toBeNull();
    await session.DELETE(req('/api/session', { method: 'DELETE', cookie: victim.cookie }));
    expect(await (await session.GET(req('/api/session', { cookie: thief }))).json()).toEqual({ user: null });
    expect(
      (await session.POST(req('/api/session', { method: 'POST', cookie: thief, body: { name: 'Again' } }))).status,
    ).toBe(200); // a new sign-in (a new user), not the victim's session
  });
});

describe('GET /api/videos', () => {
  it("lists live, then the caller's own upcoming, then ended — never someone else's upcoming — in pages", async () => {
    await list(); // the demo video is made by the first list: older than what follows
    const ann = await signUp('Ann');
    const bob = await signUp('Bob');
    const annUpcoming = await create(ann.cookie, 'Ann soon');
    const bobUpcoming = await create(bob.cookie, 'Bob soon');
    const ended = await create(ann.cookie, 'Ann done');
    await start.POST(req('/', { method: 'POST', cookie: ann.cookie }), params({ id: ended.id }));
    await end.POST(req('/', { method: 'POST', cookie: ann.cookie }), params({ id: ended.id }));
    const live: string[] = [];
    for (let i = 0; i < 3; i++) {
      const v = await create(bob.cookie, `Bob live ${i}`);
      await start.POST(req('/', { method: 'POST', cookie: bob.cookie }), params({ id: v.id }));
      live.push(v.id);
    }

    const walk = async (cookie?: string) => {
      const seen: Video[] = [];
      let next: string | null = null;
      let pages = 0;
      do {
        const page: Page = await list(`?limit=2${next ? `&cursor=${encodeURIComponent(next)}` : ''}`, cookie);
        expect(page.videos.length).toBeLessThanOrEqual(2);
        seen.push(...page.videos);
        next = page.next;
        pages++;
      } while (next !== null && pages < 100);
      return seen;
    };
    const asAnn = await walk(ann.cookie);
    const ids = asAnn.map((v) => v.id);
    expect(new Set(ids).size).toBe(ids.length); // no video twice across pages
    const statuses = asAnn.map((v) => v.status);
    const lastLive = statuses.lastIndexOf('live');
    expect(statuses.indexOf('upcoming')).toBeGreaterThan(lastLive);
    expect(statuses.indexOf('ended')).toBeGreaterThan(statuses.lastIndexOf('upcoming'));
    expect(ids).toEqual(expect.arrayContaining([...live, annUpcoming.id, ended.id, 'demo']));
    expect(ids).not.toContain(bobUpcoming.id);
    // The newest live video first.
    expect(ids.slice(0, 3)).toEqual([...live].reverse());

    const anonymous = (await walk()).map((v) => v.id);
    expect(anonymous).not.toContain(annUpcoming.id);
    expect(anonymous).not.toContain(bobUpcoming.id);
    expect(anonymous).toEqual(ids.filter((id) => id !== annUpcoming.id));

    // One page of everything answers `next: null`; live videos carry viewer counts.
    const whole = await list('', ann.cookie);
    expect(whole.next).toBeNull();
    expect(whole.videos.map((v) => v.id)).toEqual(ids);
    expect(whole.videos.every((v) => Number.isInteger(v.viewers))).toBe(true);
  });

  it('refuses a cursor it did not give and a limit out of bounds', async () => {
    await expectError(await videos.GET(req('/api/videos?cursor=not-a-cursor')), 400, 'VALIDATION_FAILED');
    await expectError(await videos.GET(req('/api/videos?limit=0')), 400, 'VALIDATION_FAILED');
    await expectError(await videos.GET(req('/api/videos?limit=101')), 400, 'VALIDATION_FAILED');
  });
});

describe('room names', () => {
  it("refuses a non-owner commenting under the broadcaster's name (any case or width); badges the owner's comments", async () => {
    const owner = await signUp('Real Host');
    const video = await create(owner.cookie, 'Show');
    await start.POST(req('/', { method: 'POST', cookie: owner.cookie }), params({ id: video.id }));
    const say = (cookie: string, text: string) =>
      comments.POST(
        req(`/api/videos/${video.id}/comments`, { method: 'POST', cookie, body: { text } }),
        params({ id: video.id }),
      );

    const mine = await say(owner.cookie, 'welcome');
    expect(mine.status).toBe(201);
    expect(((await mine.json()) as { comment: { owner?: boolean } }).comment.owner).toBe(true);

    for (const name of [
      'Real Host',
      'real host',
      'REAL  HOST',
      'Ｒｅａｌ Ｈｏｓｔ',
      'Real\u00a0Host\u200b', // a no-break space, an invisible zero-width space
    ]) {
      const impostor = await signIn(name);
      const message = await expectError(await say(impostor.cookie, 'official giveaway!'), 409, 'CONFLICT');
      expect(message).toMatch(/broadcaster's name/);
    }
    const fan = await signIn('Real Fan');
    const theirs = await say(fan.cookie, 'hi');
    expect(theirs.status).toBe(201);
    expect(((await theirs.json()) as { comment: object }).comment).not.toHaveProperty('owner');
    const history = (await (
      await comments.GET(req(`/api/videos/${video.id}/comments`), params({ id: video.id }))
    ).json()) as { comments: Array<{ text: string; owner?: boolean }> };
    expect(history.comments.map((c) => [c.text, c.owner ?? false])).toEqual([
      ['welcome', true],
      ['hi', false],
    ]);
  });
});

describe('video quotas', () => {
  it(`holds ${MAX_UPCOMING_PER_USER} upcoming videos per user at once (429 with Retry-After), more once one goes live`, async () => {
    const { cookie } = await signUp('Planner');
    const made = [];
    for (let i = 0; i < MAX_UPCOMING_PER_USER; i++) made.push(await create(cookie, `plan ${i}`));
    const refused = await videos.POST(req('/api/videos', { method: 'POST', cookie, body: { title: 'one too many' } }));
    await expectError(refused, 429, 'RATE_LIMITED');
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);
    await start.POST(req('/', { method: 'POST', cookie }), params({ id: made[0]?.id ?? '' }));
    await create(cookie, 'now there is room');
  });

  it('refuses an address its daily budget of videos however many identities it uses', async () => {
    const address = { [CLIENT_ADDRESS_HEADER]: '198.51.100.23' };
    let created = 0;
    let refused: Response | undefined;
    for (let i = 0; i < 200 && !refused; i++) {
      const { cookie } = await signUp(`Spammer ${i}`);
      const response = await videos.POST(
        req('/api/videos', { method: 'POST', cookie, body: { title: 'spam' }, headers: address }),
      );
      if (response.status === 201) created++;
      else refused = response;
    }
    expect(created).toBe(100);
    if (!refused) throw new Error('expected a refusal');
    await expectError(refused, 429, 'RATE_LIMITED');
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(3600);
    // Another address is not affected.
    const { cookie } = await signUp('Elsewhere');
    await create(cookie, 'fine', { [CLIENT_ADDRESS_HEADER]: '198.51.100.24' });
    expect(await context().store.countUpcoming('nobody')).toBe(0);
  });
});

describe('budgets from the environment', () => {
  it('reads the non-rate budgets, defaulting to the built-in ones, and names a bad variable', () => {
    expect(budgetsFromEnv({})).toEqual(DEFAULT_BUDGETS);
    expect(budgetsFromEnv({ SESSIONS_PER_HOUR_PER_ADDRESS: '1000' }).sessionsPerAddress).toEqual({
      points: 1000,
      seconds: 3600,
    });
    expect(() => budgetsFromEnv({ VIDEOS_PER_DAY_PER_ADDRESS: '-1' })).toThrow(/VIDEOS_PER_DAY_PER_ADDRESS/);
  });
});

describe('foldName (the room-name check)', () => {
  it('folds what shows the same: blank letters, a final sigma, width, case, invisible characters', async () => {
    const { foldName } = await import('../lib/server/comments');
    expect(foldName('Alice\u2800')).toBe(foldName('Alice'));
    expect(foldName('Al\u3164ice')).toBe(foldName('Alice'));
    expect(foldName('Al\u2800ice')).toBe(foldName('Al ice'));
    expect(foldName('ΟΔΟΣ')).toBe(foldName('οδοσ'));
    expect(foldName('ＡＬＩＣＥ')).toBe(foldName('alice'));
    expect(foldName('Al\u200Bice')).toBe(foldName('Alice'));
    expect(foldName('Alicia')).not.toBe(foldName('Alice'));
  });
});
