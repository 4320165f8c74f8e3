import { expect, test } from '@playwright/test';
import { signUpAccount } from '../accounts.js';

/* The product API over HTTP (no browser), against the two-region topology. */

test('a session, a live video, a like and a comment — and the contract errors', async ({ playwright, baseURL }) => {
  const owner = await playwright.request.newContext({ baseURL });
  const other = await playwright.request.newContext({ baseURL });
  const anonymous = await playwright.request.newContext({ baseURL });
  try {
    await signUpAccount(owner, new URL(baseURL ?? '').origin, 'API owner');
    expect((await other.post('/api/session', { data: { name: 'API other' } })).status()).toBe(200);
    // Broadcasting needs an account: the guest is refused, the account creates.
    expect((await other.post('/api/videos', { data: { title: 'Guest video' } })).status()).toBe(403);
    const created = await owner.post('/api/videos', { data: { title: 'API video' } });
    expect(created.status()).toBe(201);
    const { video } = (await created.json()) as { video: { id: string; status: string } };
    expect(video.status).toBe('upcoming');

    const errorOf = async (response: Awaited<ReturnType<typeof owner.get>>) =>
      [response.status(), ((await response.json()) as { error: { code: string } }).error.code] as const;
    // A guest manages no video; another account manages only its own.
    expect(await errorOf(await other.post(`/api/videos/${video.id}/start`))).toEqual([403, 'ACCOUNT_REQUIRED']);
    const rival = await playwright.request.newContext({ baseURL });
    await signUpAccount(rival, new URL(baseURL ?? '').origin, 'API rival');
    expect(await errorOf(await rival.post(`/api/videos/${video.id}/start`))).toEqual([403, 'FORBIDDEN']);
    await rival.dispose();
    expect(await errorOf(await anonymous.post(`/api/videos/${video.id}/start`))).toEqual([401, 'UNAUTHORIZED']);
    expect(await errorOf(await other.post(`/api/videos/${video.id}/likes`, { data: {} }))).toEqual([409, 'CONFLICT']);
    expect((await owner.post(`/api/videos/${video.id}/start`)).status()).toBe(200);

    expect((await other.post(`/api/videos/${video.id}/likes`, { data: { count: 3 } })).status()).toBe(202);
    expect(await errorOf(await other.post(`/api/videos/${video.id}/likes`, { data: { count: 51 } }))).toEqual([
      400,
      'VALIDATION_FAILED',
    ]);
    expect((await other.post(`/api/videos/${video.id}/comments`, { data: { text: 'hi' } })).status()).toBe(201);
    expect(await errorOf(await other.post(`/api/videos/${video.id}/comments`, { data: { text: ' ' } }))).toEqual([
      400,
      'VALIDATION_FAILED',
    ]);
    expect(
      await errorOf(await other.post(`/api/videos/${video.id}/comments`, { data: { text: 'x'.repeat(70_000) } })),
    ).toEqual([413, 'PAYLOAD_TOO_LARGE']);
    expect(await errorOf(await anonymous.get('/api/videos/no-such-video'))).toEqual([404, 'NOT_FOUND']);

    const { video: after } = (await (await anonymous.get(`/api/videos/${video.id}`)).json()) as {
      video: { likes: number; status: string };
    };
    expect(after).toMatchObject({ likes: 3, status: 'live' });
    const { comments } = (await (await anonymous.get(`/api/videos/${video.id}/comments`)).json()) as {
      comments: Array<{ text: string; author: { name: string } }>;
    };
    expect(comments).toEqual([
      expect.objectContaining({ text: 'hi', author: expect.objectContaining({ name: 'API other' }) }),
    ]);
  } finally {
    await Promise.all([owner.dispose(), other.dispose(), anonymous.dispose()]);
  }
});

test("the video list pages live, the caller's own upcoming, then ended; signing out revokes the session", async ({
  playwright,
  baseURL,
}) => {
  const owner = await playwright.request.newContext({ baseURL });
  const other = await playwright.request.newContext({ baseURL });
  try {
    await signUpAccount(owner, new URL(baseURL ?? '').origin, 'Lister');
    expect((await other.post('/api/session', { data: { name: 'Onlooker' } })).status()).toBe(200);
    const { video: upcoming } = (await (await owner.post('/api/videos', { data: { title: 'Soon' } })).json()) as {
      video: { id: string };
    };
    type Page = { videos: Array<{ id: string; status: string }>; next: string | null };
    const walk = async (who: typeof owner) => {
      const seen: Page['videos'] = [];
      let next: string | null = null;
      do {
        const response = await who.get(`/api/videos?limit=2${next ? `&cursor=${encodeURIComponent(next)}` : ''}`);
        expect(response.status()).toBe(200);
        const page = (await response.json()) as Page;
        expect(page.videos.length).toBeLessThanOrEqual(2);
        seen.push(...page.videos);
        next = page.next;
      } while (next !== null);
      return seen;
    };
    const mine = await walk(owner);
    expect(mine.map((v) => v.id)).toContain(upcoming.id);
    const statuses = mine.map((v) => v.status);
    expect(statuses.indexOf('upcoming')).toBeGreaterThan(statuses.lastIndexOf('live'));
    expect((await walk(other)).map((v) => v.id)).not.toContain(upcoming.id);

    const signOut = await owner.post('/api/auth/logout');
    expect(signOut.status()).toBe(200);
    expect(await signOut.json()).toEqual({ user: null });
    expect(await (await owner.get('/api/session')).json()).toEqual({ user: null });
    expect((await owner.post('/api/videos', { data: { title: 'Signed out' } })).status()).toBe(401);
  } finally {
    await Promise.all([owner.dispose(), other.dispose()]);
  }
});

test('a write repeated with the same Idempotency-Key answers as the first and counts once', async ({
  playwright,
  baseURL,
}) => {
  const user = await playwright.request.newContext({ baseURL });
  try {
    await signUpAccount(user, new URL(baseURL ?? '').origin, 'API retrier');
    const key = (k: string) => ({ 'Idempotency-Key': `${k}-${Date.now()}` });
    const create = key('create');
    const made = await user.post('/api/videos', { data: { title: 'Retried' }, headers: create });
    const again = await user.post('/api/videos', { data: { title: 'Retried' }, headers: create });
    expect([made.status(), again.status()]).toEqual([201, 201]);
    const { video } = (await made.json()) as { video: { id: string } };
    expect(((await again.json()) as { video: { id: string } }).video.id).toBe(video.id);
    expect((await user.post(`/api/videos/${video.id}/start`)).status()).toBe(200);

    const comment = key('comment');
    const first = await user.post(`/api/videos/${video.id}/comments`, { data: { text: 'once' }, headers: comment });
    const repeat = await user.post(`/api/videos/${video.id}/comments`, { data: { text: 'once' }, headers: comment });
    expect([first.status(), repeat.status()]).toEqual([201, 201]);
    expect(await repeat.json()).toEqual(await first.json());
    const like = key('like');
    for (let i = 0; i < 2; i++) {
      const liked = await user.post(`/api/videos/${video.id}/likes`, { data: { count: 3 }, headers: like });
      expect([liked.status(), await liked.json()]).toEqual([202, { total: 3, totals: { like: 3 } }]);
    }
    // Another reaction, repeated: counted once, under its own name.
    const love = key('love');
    for (let i = 0; i < 2; i++) {
      const loved = await user.post(`/api/videos/${video.id}/likes`, {
        data: { count: 2, reaction: 'love' },
        headers: love,
      });
      expect([loved.status(), await loved.json()]).toEqual([202, { total: 5, totals: { like: 3, love: 2 } }]);
    }
    const { comments } = (await (await user.get(`/api/videos/${video.id}/comments`)).json()) as {
      comments: unknown[];
    };
    expect(comments).toHaveLength(1);
    expect(
      ((await (await user.get(`/api/videos/${video.id}`)).json()) as { video: { likes: number } }).video,
    ).toMatchObject({ likes: 5, reactions: { like: 3, love: 2 } });

    const bad = await user.post(`/api/videos/${video.id}/likes`, {
      data: { count: 1 },
      headers: { 'Idempotency-Key': 'x'.repeat(129) },
    });
    expect(bad.status()).toBe(400);
    expect(((await bad.json()) as { error: { message: string } }).error.message).toContain('Idempotency-Key');
  } finally {
    await user.dispose();
  }
});

test('/healthz checks Redis and the dispatcher tier', async ({ request }) => {
  const response = await request.get('/healthz');
  expect(response.status()).toBe(200);
  expect(await response.json()).toEqual({ status: 'ok', checks: { redis: { ok: true }, dispatcher: { ok: true } } });
});
