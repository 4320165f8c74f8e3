import { freePort } from '@ovation/shared/server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '../../../test-support/poll.js';
import { TestViewer } from '../../../test-support/sse-client.js';
import * as presence from '../app/api/presence/route';
import * as realtimeToken from '../app/api/realtime-token/route';
import * as videoPresence from '../app/api/videos/[id]/presence/route';
import * as videos from '../app/api/videos/route';
import { CLIENT_ADDRESS_HEADER } from '../lib/server/client-address';
import { loadWebConfig } from '../lib/server/config';
import { createContext, setContext } from '../lib/server/context';
import { RateLimits } from '../lib/server/rate-limit';
import { expectError, params, req, signIn, signUp, startServices, TOKEN } from './route-helpers';

/*
 * GET /api/presence and GET /api/videos/:id/presence against a real dispatcher and node: a viewer
 * whose page token names them is online on the video (and anywhere) while connected, listed for
 * the owner with since when, and neither once their connection closed and the (short) grace passed.
 */

// A short grace and quick rounds: a departure shows within about a second.
const PRESENCE_ENV = {
  PRESENCE_GRACE_MS: '300',
  PRESENCE_TTL_MS: '600',
  PRESENCE_INTERVAL_MS: '100',
  PRESENCE_FLUSH_MS: '50',
};

let services: Awaited<ReturnType<typeof startServices>>;
const config = () => loadWebConfig({ INTERNAL_TOKEN: TOKEN, DISPATCHER_URLS: services.dispatcherUrl });

beforeAll(async () => {
  services = await startServices(PRESENCE_ENV);
  setContext(createContext(config()));
});

afterAll(async () => {
  setContext(undefined);
  await services.close();
});

async function createVideo(cookie: string, title: string): Promise<string> {
  const created = await videos.POST(req('/api/videos', { method: 'POST', body: { title }, cookie }));
  expect(created.status).toBe(201);
  return ((await created.json()) as { video: { id: string } }).video.id;
}

/** Opens the video's stream on the node as the page of `cookie`'s user would (its connection token). */
async function watch(videoId: string, cookie: string): Promise<TestViewer> {
  const answer = await realtimeToken.GET(req(`/api/realtime-token?videoId=${videoId}`, { cookie }));
  expect(answer.status).toBe(200);
  const { token } = (await answer.json()) as { token: string };
  return TestViewer.connect(`${services.nodeUrl}/connect?topics=video:${videoId}&token=${token}`);
}

async function online(query: string, headers: Record<string, string> = {}) {
  const response = await presence.GET(req(`/api/presence?${query}`, { headers }));
  expect(response.status, await response.clone().text()).toBe(200);
  expect(response.headers.get('cache-control')).toBe('no-store');
  return ((await response.json()) as { online: Record<string, boolean> }).online;
}

type Page = {
  count: number;
  guests: number;
  viewers: Array<{ id: string; name: string; since: string }>;
  next: string | null;
};

async function watchers(videoId: string, cookie: string, query = ''): Promise<Page> {
  const response = await videoPresence.GET(
    req(`/api/videos/${videoId}/presence${query}`, { cookie }),
    params({ id: videoId }),
  );
  expect(response.status, await response.clone().text()).toBe(200);
  return (await response.json()) as Page;
}

describe('presence through the product API', () => {
  it('says who is online on the video and anywhere, and lists them for the owner, until they leave', async () => {
    const owner = await signUp('Presence owner');
    const videoId = await createVideo(owner.cookie, 'Who is here');
    const other = await createVideo(owner.cookie, 'Somewhere else');
    const ann = await signIn('Ann');
    const bob = await signUp('Bob');
    const before = Date.now();
    const annStream = await watch(videoId, ann.cookie);
    const bobStream = await watch(videoId, bob.cookie);
    const users = `${ann.user.id},${bob.user.id},${owner.user.id}`;
    try {
      const here = await waitFor('Ann and Bob online on the video', async () => {
        const answer = await online(`users=${users}&videoId=${videoId}`);
        return answer[ann.user.id] && answer[bob.user.id] ? answer : undefined;
      });
      expect(here).toEqual({ [ann.user.id]: true, [bob.user.id]: true, [owner.user.id]: false });
      // Anywhere: the same; on another video: no one.
      expect(await online(`users=${users}`)).toEqual(here);
      expect(await online(`users=${users}&videoId=${other}`)).toEqual({
        [ann.user.id]: false,
        [bob.user.id]: false,
        [owner.user.id]: false,
      });

      // The owner's list: both, in id order, named as their sessions are, since they came.
      const page = await watchers(videoId, owner.cookie);
      expect(page).toMatchObject({ count: 2, guests: 0, next: null });
      expect(page.viewers.map((v) => [v.id, v.name])).toEqual(
        [
          [ann.user.id, 'Ann'],
          [bob.user.id, 'Bob'],
        ].sort((a, b) => (a[0] as string).localeCompare(b[0] as string)),
      );
      for (const viewer of page.viewers) {
        expect(Date.parse(viewer.since)).toBeGreaterThanOrEqual(before - 1000);
        expect(Date.parse(viewer.since)).toBeLessThanOrEqual(Date.now());
      }
      // Paged: one at a time, the second page from the first's `next`.
      const first = await watchers(videoId, owner.cookie, '?limit=1');
      expect(first.viewers).toHaveLength(1);
      expect(first.next).not.toBeNull();
      const second = await watchers(videoId, owner.cookie, `?limit=1&cursor=${first.next}`);
      expect(second.viewers.map((v) => v.id)).toEqual([page.viewers[1]?.id]);

      // Bob closes his page: after the grace he is offline there and anywhere, and no longer listed.
      bobStream.close();
      const after = await waitFor('Bob gone', async () => {
        const answer = await online(`users=${users}&videoId=${videoId}`);
        return answer[bob.user.id] === false ? answer : undefined;
      });
      expect(after).toEqual({ [ann.user.id]: true, [bob.user.id]: false, [owner.user.id]: false });
      // Anywhere: within the grace after his last heartbeat too.
      await waitFor('Bob offline anywhere', async () => (await online(`users=${bob.user.id}`))[bob.user.id] === false);
      const left = await watchers(videoId, owner.cookie);
      expect(left.viewers.map((v) => v.name)).toEqual(['Ann']);
      expect(left.count).toBe(1);
    } finally {
      annStream.close();
      bobStream.close();
    }
  });

  it('counts a viewer without a session as a guest, never named', async () => {
    const owner = await signUp('Guest counter');
    const videoId = await createVideo(owner.cookie, 'Guests');
    const answer = await realtimeToken.GET(req(`/api/realtime-token?videoId=${videoId}`));
    const { token } = (await answer.json()) as { token: string };
    const guest = await TestViewer.connect(`${services.nodeUrl}/connect?topics=video:${videoId}&token=${token}`);
    try {
      const page = await waitFor('the guest counted', async () => {
        const p = await watchers(videoId, owner.cookie);
        return p.guests === 1 ? p : undefined;
      });
      expect(page).toEqual({ count: 0, guests: 1, viewers: [], next: null });
    } finally {
      guest.close();
    }
  });

  it('refuses bad queries with 400 naming the field', async () => {
    const ids = Array.from({ length: 101 }, (_, i) => `u${i}`).join(',');
    for (const query of ['', 'users=', 'users=,', `users=${ids}`, 'users=a%20b', 'users=a&videoId=../x']) {
      const message = await expectError(await presence.GET(req(`/api/presence?${query}`)), 400, 'VALIDATION_FAILED');
      expect(message).toMatch(/query\.(users|videoId)/);
    }
    // 100 ids, repeats counting once, are fine (and no one is online).
    const hundred = Array.from({ length: 100 }, (_, i) => `u${i}`);
    const answer = await online(`users=${[...hundred, 'u1', 'u2'].join(',')}`);
    expect(Object.keys(answer).sort()).toEqual([...hundred].sort());
    expect(Object.values(answer).every((v) => v === false)).toBe(true);

    const owner = await signUp('Bad pages');
    const videoId = await createVideo(owner.cookie, 'Pages');
    for (const query of ['?limit=0', '?limit=1001', '?limit=x', '?cursor=a%20b']) {
      await expectError(
        await videoPresence.GET(
          req(`/api/videos/${videoId}/presence${query}`, { cookie: owner.cookie }),
          params({ id: videoId }),
        ),
        400,
        'VALIDATION_FAILED',
      );
    }
  });

  it("lists a video's watchers for its owner only: 401 signed out, 403 a guest or someone else, 404 unknown", async () => {
    const owner = await signUp('List owner');
    const videoId = await createVideo(owner.cookie, 'Mine');
    const ask = (id: string, cookie?: string) =>
      videoPresence.GET(req(`/api/videos/${id}/presence`, cookie ? { cookie } : {}), params({ id }));
    await expectError(await ask(videoId), 401, 'UNAUTHORIZED');
    await expectError(await ask(videoId, (await signIn('A guest')).cookie), 403, 'ACCOUNT_REQUIRED');
    await expectError(await ask(videoId, (await signUp('Someone else')).cookie), 403, 'FORBIDDEN');
    await expectError(await ask('no-such-video', owner.cookie), 404, 'NOT_FOUND');
    expect((await ask(videoId, owner.cookie)).status).toBe(200);
  });

  it('answers 429 past the per-address budget of look-ups (others unaffected), and 503 when no dispatcher answers', async () => {
    const base = createContext(config());
    const budgets = { presenceLookupsPerAddress: { points: 2, seconds: 60 } };
    setContext({ ...base, limits: new RateLimits({ likesPerSecond: 1, commentsPerSecond: 1, prefix: 't', budgets }) });
    try {
      const from = (address: string) => ({ [CLIENT_ADDRESS_HEADER]: address });
      await online('users=a', from('192.0.2.1'));
      await online('users=a', from('192.0.2.1'));
      const refused = await presence.GET(req('/api/presence?users=a', { headers: from('192.0.2.1') }));
      expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);
      await expectError(refused, 429, 'RATE_LIMITED');
      await online('users=a', from('192.0.2.2'));
    } finally {
      setContext(createContext(config()));
    }

    const dead = `http://127.0.0.1:${await freePort()}`;
    setContext(createContext(loadWebConfig({ INTERNAL_TOKEN: TOKEN, DISPATCHER_URLS: `${dead},${dead}` })));
    try {
      const unavailable = await presence.GET(req('/api/presence?users=a&videoId=demo'));
      expect(unavailable.headers.get('retry-after')).toBe('1');
      await expectError(unavailable, 503, 'UNAVAILABLE');
      const owner = await signUp('Owner without a tier');
      const videoId = await createVideo(owner.cookie, 'Dark');
      await expectError(
        await videoPresence.GET(
          req(`/api/videos/${videoId}/presence`, { cookie: owner.cookie }),
          params({ id: videoId }),
        ),
        503,
        'UNAVAILABLE',
      );
    } finally {
      setContext(createContext(config()));
    }
  });
});
