import { ConnectTokens } from '@ovation/shared/connect-token';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '../../../test-support/poll.js';
import { TestViewer } from '../../../test-support/sse-client.js';
import * as realtimeToken from '../app/api/realtime-token/route';
import * as videos from '../app/api/videos/route';
import { loadWebConfig } from '../lib/server/config';
import { createContext, setContext } from '../lib/server/context';
import { expectError, req, signIn, signUp, startServices, TOKEN } from './route-helpers';

/*
 * GET /api/realtime-token against a real node: what a page may listen to, and that a node takes
 * it. The web and the node use the development key here (both unset), as `npm start` does not.
 */

let services: Awaited<ReturnType<typeof startServices>>;
const config = () => loadWebConfig({ INTERNAL_TOKEN: TOKEN, DISPATCHER_URLS: services.dispatcherUrl });

beforeAll(async () => {
  services = await startServices();
  setContext(createContext(config()));
});

afterAll(async () => {
  setContext(undefined);
  await services.close();
});

async function tokenFor(videoId: string | undefined, cookie?: string) {
  const response = await realtimeToken.GET(
    req(`/api/realtime-token${videoId ? `?videoId=${videoId}` : ''}`, cookie ? { cookie } : {}),
  );
  expect(response.status).toBe(200);
  expect(response.headers.get('cache-control')).toBe('no-store');
  const body = (await response.json()) as {
    token: string;
    expiresAt: number;
    realtimeUrls: string[];
    topics: string[];
  };
  const grant = new ConnectTokens(config().connectTokenSecret).verify(body.token);
  return { ...body, grant };
}

describe('GET /api/realtime-token', () => {
  it("grants the video's topic and the videos list; observing only to the owner; hours of validity", async () => {
    const owner = await signUp('Owner');
    const created = await videos.POST(
      req('/api/videos', { method: 'POST', body: { title: 'Tokens' }, cookie: owner.cookie }),
    );
    const { video } = (await created.json()) as { video: { id: string } };

    const mine = await tokenFor(video.id, owner.cookie);
    expect(mine.grant).toMatchObject({
      viewerId: owner.user.id,
      topics: ['videos', `video:${video.id}`],
      observe: [`video:${video.id}`],
    });
    expect(mine.expiresAt - Date.now()).toBeGreaterThan(3 * 3600_000);
    expect(mine.realtimeUrls).toEqual(['http://127.0.0.1:4100']);

    const viewer = await signIn('Viewer');
    const theirs = await tokenFor(video.id, viewer.cookie);
    expect(theirs.grant).toMatchObject({ viewerId: viewer.user.id, observe: [] });

    const guest = await tokenFor(video.id);
    expect(guest.grant.viewerId).toMatch(/^g-/);
    expect(guest.grant.observe).toEqual([]);

    expect((await tokenFor(undefined)).grant.topics).toEqual(['videos']);
  });

  it('a node takes the token for what it grants, and refuses observing to a non-owner', async () => {
    const owner = await signUp('Streamer');
    const created = await videos.POST(
      req('/api/videos', { method: 'POST', body: { title: 'On air' }, cookie: owner.cookie }),
    );
    const { video } = (await created.json()) as { video: { id: string } };
    const mine = await tokenFor(video.id, owner.cookie);
    const studio = await TestViewer.connect(
      `${services.nodeUrl}/connect?topics=video:${video.id}&observer=1&token=${mine.token}`,
    );
    studio.close();
    const theirs = await tokenFor(video.id);
    const refused = TestViewer.open(
      `${services.nodeUrl}/connect?topics=video:${video.id}&observer=1&token=${theirs.token}`,
    );
    await waitFor('an answer', () => refused.status !== 0);
    expect(refused.status).toBe(403);
    refused.close();
  });

  it('an unknown video is 404, a malformed id 400', async () => {
    await expectError(await realtimeToken.GET(req('/api/realtime-token?videoId=nope')), 404, 'NOT_FOUND');
    await expectError(await realtimeToken.GET(req('/api/realtime-token?videoId=../x')), 400, 'VALIDATION_FAILED');
  });

  it('shared=1 (a connection shared by tabs) leaves an unknown video out even alone; any other value is refused', async () => {
    const alone = await realtimeToken.GET(req('/api/realtime-token?videoId=nope&shared=1'));
    expect(alone.status).toBe(200);
    expect(((await alone.json()) as { topics: string[] }).topics).toEqual(['videos']);
    await expectError(
      await realtimeToken.GET(req('/api/realtime-token?videoId=nope&shared=yes')),
      400,
      'VALIDATION_FAILED',
    );
  });

  it('several videoId values (a connection shared by tabs): one token for all; unknown ones left out, not 404; at most 63', async () => {
    const owner = await signUp('Many');
    const ids: string[] = [];
    for (const title of ['One', 'Two']) {
      const created = await videos.POST(req('/api/videos', { method: 'POST', body: { title }, cookie: owner.cookie }));
      ids.push(((await created.json()) as { video: { id: string } }).video.id);
    }
    const response = await realtimeToken.GET(
      req(`/api/realtime-token?videoId=${ids[0]}&videoId=${ids[1]}&videoId=gone1&videoId=${ids[0]}`, {
        cookie: owner.cookie,
      }),
    );
    expect(response.status).toBe(200);
    const body = (await response.json()) as { token: string; topics: string[] };
    const topics = ['videos', `video:${ids[0]}`, `video:${ids[1]}`];
    expect(body.topics).toEqual(topics);
    const grant = new ConnectTokens(config().connectTokenSecret).verify(body.token);
    expect(grant).toMatchObject({ topics, observe: topics.slice(1) });
    // One id keeps the contract: an unknown video is 404 (above); its answer says the topics too.
    expect((await tokenFor(ids[0] as string)).topics).toEqual(['videos', `video:${ids[0]}`]);

    const many = (n: number) => `/api/realtime-token?${Array.from({ length: n }, (_, i) => `videoId=v${i}`).join('&')}`;
    expect((await realtimeToken.GET(req(many(63)))).status).toBe(200);
    const message = await expectError(await realtimeToken.GET(req(many(64))), 400, 'VALIDATION_FAILED');
    expect(message).toContain('at most 63 videoId values');
    await expectError(
      await realtimeToken.GET(req(`/api/realtime-token?videoId=${ids[0]}&videoId=../x`)),
      400,
      'VALIDATION_FAILED',
    );
  });

  it('mints at most 300 guests a minute per address (each would count as a viewer); signed-in users are not held to it', async () => {
    const from = (address: string, cookie?: string) =>
      realtimeToken.GET(
        req('/api/realtime-token?videoId=demo', {
          headers: { 'x-ovation-client-address': address },
          ...(cookie ? { cookie } : {}),
        }),
      );
    const statuses: number[] = [];
    for (let i = 0; i < 301; i++) statuses.push((await from('198.51.100.9')).status);
    expect(statuses.filter((s) => s === 200)).toHaveLength(300);
    const refused = await from('198.51.100.9');
    await expectError(refused, 429, 'RATE_LIMITED');
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);
    expect((await from('198.51.100.10')).status).toBe(200);
    const member = await signIn('Member');
    expect((await from('198.51.100.9', member.cookie)).status).toBe(200);
  });

  it('mints at most 120 tokens a minute per signed-in user (each may read 63 videos), whatever the address', async () => {
    const from = (address: string, cookie: string) =>
      realtimeToken.GET(
        req('/api/realtime-token?videoId=demo', { headers: { 'x-ovation-client-address': address }, cookie }),
      );
    const user = await signIn('Tabs');
    const statuses: number[] = [];
    for (let i = 0; i < 120; i++) statuses.push((await from(`198.51.100.${(i % 50) + 20}`, user.cookie)).status);
    expect(statuses.filter((s) => s === 200)).toHaveLength(120);
    const refused = await from('203.0.113.1', user.cookie);
    await expectError(refused, 429, 'RATE_LIMITED');
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);
    expect((await from('203.0.113.1', (await signIn('Other')).cookie)).status).toBe(200);
  });
});
