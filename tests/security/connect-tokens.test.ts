import { request } from 'node:http';
import { connect } from 'node:net';
import { ConnectTokens } from '@ovation/shared/connect-token';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp as buildDispatcher } from '../../apps/dispatcher/src/app.js';
import { loadDispatcherConfig } from '../../apps/dispatcher/src/config.js';
import { buildApp as buildRealtime } from '../../apps/realtime/src/app.js';
import { loadRealtimeConfig } from '../../apps/realtime/src/config.js';
import { postJson } from '../../test-support/http.js';
import { waitFor } from '../../test-support/poll.js';
import { TestViewer } from '../../test-support/sse-client.js';

/*
 * Attacks on the realtime tier's front door, GET /connect, each with the refusal it must get:
 * a stream without a token, with a forged, unsigned or expired one, for a topic the token does not
 * grant, as an observer who does not own the video, or one client holding more connections than
 * its share. A real dispatcher and real nodes on free ports, raw HTTP.
 */

const INTERNAL = 'security-internal-token-0123456789';
const SECRET = 'security-connect-secret-0123456789abcdef';
const tokens = new ConnectTokens(SECRET);

let dispatcher: FastifyInstance;
let dispatcherUrl: string;
/** NODE_ENV=production: a token is required. */
let prod: FastifyInstance;
let prodUrl: string;
/** Development, tokens optional, public topics video:* and videos, at most 5 connections per address. */
let dev: FastifyInstance;
let devUrl: string;

beforeAll(async () => {
  dispatcher = await buildDispatcher(
    loadDispatcherConfig({ INTERNAL_TOKEN: INTERNAL, LOG_LEVEL: 'silent', VIEWER_COUNT_INTERVAL_MS: '100' }),
  );
  dispatcherUrl = await dispatcher.listen({ host: '127.0.0.1', port: 0 });
  const common = {
    INTERNAL_TOKEN: INTERNAL,
    LOG_LEVEL: 'silent',
    PORT: '0',
    DISPATCHER_URLS: dispatcherUrl,
    NODE_HEARTBEAT_MS: '100',
    CONNECT_TOKEN_SECRET: SECRET,
  };
  prod = await buildRealtime(
    loadRealtimeConfig({ ...common, NODE_ENV: 'production', MAX_CONNECTIONS_PER_VIEWER: '3' }),
  );
  prodUrl = await prod.listen({ host: '127.0.0.1', port: 0 });
  dev = await buildRealtime(
    loadRealtimeConfig({
      ...common,
      NODE_ENV: 'development',
      PUBLIC_TOPICS: 'video:*,videos',
      MAX_CONNECTIONS_PER_IP: '5',
    }),
  );
  devUrl = await dev.listen({ host: '127.0.0.1', port: 0 });
});

afterAll(async () => {
  await prod.close();
  await dev.close();
  await dispatcher.close();
});

/** GET /connect answered with an error status: the status and the contract's error body. */
async function refused(url: string, headers: Record<string, string> = {}) {
  return new Promise<{ status: number; code: string; message: string }>((resolve, reject) => {
    const req = request(url, { headers: { accept: 'text/event-stream', ...headers }, agent: false }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        text += chunk;
      });
      res.on('end', () => {
        try {
          const body = JSON.parse(text) as { error: { code: string; message: string } };
          expect(Object.keys(body)).toEqual(['error']);
          resolve({ status: res.statusCode ?? 0, ...body.error });
        } catch (error) {
          reject(new Error(`${res.statusCode} ${text.slice(0, 200)}: ${(error as Error).message}`));
        }
      });
    });
    req.on('error', reject);
    req.end();
  });
}

const grant = (topics: string[], observe: string[] = [], viewerId = 'u-alice') => ({ viewerId, topics, observe });
const sign = (topics: string[], observe: string[] = [], viewerId = 'u-alice', ttl?: number) =>
  tokens.sign(grant(topics, observe, viewerId), ttl).token;

function base64url(value: unknown): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url');
}

describe('GET /connect refuses', () => {
  it('a stream without a token in production (401)', async () => {
    const answer = await refused(`${prodUrl}/connect?topics=video:a`);
    expect(answer).toMatchObject({ status: 401, code: 'UNAUTHORIZED' });
    expect(answer.message).toMatch(/token is required/);
  });

  it('a token signed with another key, an unsigned (alg none) one, garbage, a session-like JWT (401)', async () => {
    const forged = new ConnectTokens('another-key-that-is-long-enough-0123456').sign(grant(['video:a'])).token;
    const now = Math.floor(Date.now() / 1000);
    const unsigned = `${base64url({ alg: 'none', typ: 'JWT' })}.${base64url({
      sub: 'u-alice',
      topics: ['video:a'],
      observe: ['video:a'],
      aud: 'ovation:connect',
      exp: now + 3600,
    })}.`;
    const valid = sign(['video:a']);
    const [header, , signature] = valid.split('.');
    const widened = `${header}.${base64url({ sub: 'u-alice', topics: ['video:a', 'internal:x'], aud: 'ovation:connect', exp: now + 3600 })}.${signature}`;
    for (const token of [forged, unsigned, 'not-a-jwt', widened, 'x'.repeat(5000)]) {
      const answer = await refused(`${prodUrl}/connect?topics=video:a&token=${encodeURIComponent(token)}`);
      expect(answer).toMatchObject({ status: 401, code: 'UNAUTHORIZED' });
    }
    // The same through Authorization: Bearer.
    expect(await refused(`${prodUrl}/connect?topics=video:a`, { authorization: `Bearer ${forged}` })).toMatchObject({
      status: 401,
    });
  });

  it('an expired token, with a message that says so (401)', async () => {
    const expired = tokens.sign(grant(['video:a']), 60, Date.now() - 3600_000);
    const answer = await refused(`${prodUrl}/connect?topics=video:a&token=${expired.token}`);
    expect(answer).toMatchObject({ status: 401, code: 'UNAUTHORIZED' });
    expect(answer.message).toMatch(/expired/);
  });

  it('a topic the token does not grant: another video, an internal topic (403)', async () => {
    const token = sign(['video:a']);
    for (const topics of ['video:b', 'video:a,internal:registry', 'videos']) {
      const answer = await refused(`${prodUrl}/connect?topics=${topics}&token=${token}`);
      expect(answer).toMatchObject({ status: 403, code: 'FORBIDDEN' });
    }
  });

  it('observer=1 from anyone but the owner (403); the owner observes without being counted', async () => {
    const viewerToken = sign(['video:own']);
    expect(await refused(`${prodUrl}/connect?topics=video:own&observer=1&token=${viewerToken}`)).toMatchObject({
      status: 403,
    });
    const ownerToken = sign(['video:own'], ['video:own'], 'u-owner');
    const viewer = await TestViewer.connect(`${prodUrl}/connect?topics=video:own&token=${viewerToken}`);
    await waitFor('the viewer counted', async () => (await viewerCount('video:own')) === 1);
    const owner = await TestViewer.connect(`${prodUrl}/connect?topics=video:own&observer=1&token=${ownerToken}`);
    viewer.close();
    // Counting the owner would go 1, 2, 1: never 0 while the owner is there.
    await waitFor('the owner alone: no viewer', async () => (await viewerCount('video:own')) === 0);
    expect(owner.closed).toBe(false);
    owner.close();
  });

  it('a topic added later through POST /subscribe that the token does not grant (403)', async () => {
    const viewer = await TestViewer.connect(`${prodUrl}/connect?topics=video:a&token=${sign(['video:a'])}`);
    const answer = await postJson(`${prodUrl}/subscribe`, { connectionId: viewer.connectionId, topics: ['video:b'] });
    expect(answer.status).toBe(403);
    viewer.close();
  });

  it('more connections than one viewer may hold (429), and admits again once one closes', async () => {
    const token = sign(['video:caps'], [], 'u-many-tabs');
    const url = `${prodUrl}/connect?topics=video:caps&token=${token}`;
    const tabs = [await TestViewer.connect(url), await TestViewer.connect(url), await TestViewer.connect(url)];
    const answer = await refused(url);
    expect(answer).toMatchObject({ status: 429, code: 'RATE_LIMITED' });
    tabs[0]?.close();
    const again = await waitFor('a fourth tab admitted after one closed', async () => {
      const tab = TestViewer.open(url);
      await waitFor('an answer', () => tab.status !== 0 || tab.closed);
      if (tab.status === 200) return tab;
      tab.close();
      return undefined;
    });
    for (const tab of [...tabs, again]) tab?.close();
  });

  it('more connections from one address than the cap (429), whatever X-Forwarded-For it makes up', async () => {
    const url = `${devUrl}/connect?topics=video:flood`;
    const held: TestViewer[] = [];
    for (let i = 0; i < 5; i++) held.push(await TestViewer.connect(url, { 'x-forwarded-for': `203.0.113.${i}` }));
    const answer = await refused(url, { 'x-forwarded-for': '198.51.100.7' });
    expect(answer).toMatchObject({ status: 429, code: 'RATE_LIMITED' });
    for (const viewer of held) viewer.close();
  });
  it('requests pipelined behind a stream on one socket (each would count as a viewer): the socket is closed', async () => {
    const socket = connect(Number(new URL(prodUrl).port), '127.0.0.1');
    await new Promise((resolve) => socket.once('connect', resolve));
    let closed = false;
    socket.on('close', () => {
      closed = true;
    });
    socket.on('error', () => {});
    let requests = '';
    for (let i = 0; i < 50; i++) {
      const token = sign(['video:pipe'], [], `g-guest${i}`);
      requests += `GET /connect?topics=video:pipe&token=${token} HTTP/1.1\r\nhost: x\r\naccept: text/event-stream\r\n\r\n`;
    }
    socket.write(requests);
    await waitFor('the node closed the socket', () => closed);
    const honest = await TestViewer.connect(
      `${prodUrl}/connect?topics=video:pipe&token=${sign(['video:pipe'], [], 'u-honest')}`,
    );
    await waitFor('only the honest viewer counted', async () => (await viewerCount('video:pipe')) === 1);
    honest.close();
  });

  it('a topic added through POST /subscribe once the token expired (401), though the stream stays open', async () => {
    const { token, expiresAt } = tokens.sign(grant(['video:x1', 'video:x2']), 1);
    const viewer = await TestViewer.connect(`${prodUrl}/connect?topics=video:x1&token=${token}`);
    await waitFor('the token expired', () => Date.now() >= expiresAt, { timeoutMs: 5000 });
    const answer = await postJson(`${prodUrl}/subscribe`, { connectionId: viewer.connectionId, topics: ['video:x2'] });
    expect(answer.status).toBe(401);
    expect(viewer.closed).toBe(false);
    viewer.close();
  });
});

describe('a flood of bad tokens', () => {
  it('is turned away unheard (429, no signature check) after MAX_REFUSALS_PER_IP refusals, a valid token too', async () => {
    const node = await buildRealtime(
      loadRealtimeConfig({
        INTERNAL_TOKEN: INTERNAL,
        LOG_LEVEL: 'silent',
        PORT: '0',
        DISPATCHER_URLS: dispatcherUrl,
        CONNECT_TOKEN_SECRET: SECRET,
        NODE_ENV: 'production',
        MAX_REFUSALS_PER_IP: '5',
      }),
    );
    const url = await node.listen({ host: '127.0.0.1', port: 0 });
    try {
      const forged = new ConnectTokens('another-key-that-is-long-enough-0123456').sign(grant(['video:a'])).token;
      for (let i = 0; i < 5; i++) {
        expect(await refused(`${url}/connect?topics=video:a&token=${forged}`)).toMatchObject({ status: 401 });
      }
      const answer = await refused(`${url}/connect?topics=video:a&token=${sign(['video:a'])}`);
      expect(answer).toMatchObject({ status: 429, code: 'RATE_LIMITED' });
      expect(answer.message).toMatch(/refused/);
    } finally {
      await node.close();
    }
  });
});

describe('what a connection token allows', () => {
  it('counts a viewer once however many tabs they open', async () => {
    // Each step waits for a count the wrong answer never passes through (counts arrive late).
    const connect = (viewerId: string) =>
      TestViewer.connect(`${prodUrl}/connect?topics=video:tabs&token=${sign(['video:tabs'], [], viewerId)}`);
    const count = (n: number) => waitFor(`${n} viewers`, async () => (await viewerCount('video:tabs')) === n);
    const bob = await connect('u-bob');
    await count(1);
    const alice = [await connect('u-alice')];
    await count(2);
    const carol = await connect('u-carol');
    await count(3);
    alice.push(await connect('u-alice'), await connect('u-alice'));
    carol.close();
    await count(2); // counting tabs: 3, 4, 5, then 4
    alice[0]?.close();
    alice[1]?.close();
    bob.close();
    await count(1); // alice is still there in her third tab
    alice[2]?.close();
    await count(0);
  });

  it('reconnects with the same URL for its lifetime, then gets 401 (a standard EventSource keeps working until then)', async () => {
    const { token, expiresAt } = tokens.sign(grant(['video:life']), 2);
    const url = `${prodUrl}/connect?topics=video:life&token=${token}`;
    for (let i = 0; i < 3; i++) (await TestViewer.connect(url)).close();
    await waitFor('the token expired', () => Date.now() > expiresAt + 1000, { timeoutMs: 5000 });
    const answer = await refused(url);
    expect(answer).toMatchObject({ status: 401 });
    expect(answer.message).toMatch(/expired/);
  });

  it('in development, a tokenless guest joins public topics only, and never observes', async () => {
    const guest = await TestViewer.connect(`${devUrl}/connect?topics=video:pub,videos`);
    guest.close();
    expect(await refused(`${devUrl}/connect?topics=internal:registry`)).toMatchObject({ status: 403 });
    expect(await refused(`${devUrl}/connect?topics=video:pub&observer=1`)).toMatchObject({ status: 403 });
    // A token, when given, is checked there too.
    expect(await refused(`${devUrl}/connect?topics=video:pub&token=forged`)).toMatchObject({ status: 401 });
  });
});

async function viewerCount(topic: string): Promise<number> {
  const response = await fetch(`${dispatcherUrl}/topics/${encodeURIComponent(topic)}/viewers`);
  return ((await response.json()) as { count: number }).count;
}
