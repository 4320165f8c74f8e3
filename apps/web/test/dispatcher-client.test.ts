import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { freePort } from '@ovation/shared/server';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp as buildDispatcher } from '../../dispatcher/src/app.js';
import { loadDispatcherConfig } from '../../dispatcher/src/config.js';
import { DispatcherClient } from '../lib/server/dispatcher';

/* The web tier publishes through any dispatcher of DISPATCHER_URLS: a dead one costs one attempt. */

const TOKEN = 'web-dispatcher-client-token';
let dispatcher: FastifyInstance;
let live: string;
let dead: string;

/** A stand-in dispatcher answering every request with `status`, keeping what it was sent. */
async function capture(
  status: number,
): Promise<{ url: string; requests: Array<{ path: string; headers: IncomingHttpHeaders }>; server: Server }> {
  const requests: Array<{ path: string; headers: IncomingHttpHeaders }> = [];
  const server = createServer((req, res) => {
    requests.push({ path: req.url ?? '', headers: req.headers });
    req.resume();
    req.on('end', () => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(status === 202 ? JSON.stringify({ ids: ['id-1'] }) : '{}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, requests, server };
}

beforeAll(async () => {
  dispatcher = await buildDispatcher(loadDispatcherConfig({ INTERNAL_TOKEN: TOKEN, LOG_LEVEL: 'silent' }));
  live = await dispatcher.listen({ host: '127.0.0.1', port: 0 });
  dead = `http://127.0.0.1:${await freePort()}`; // nothing listens there
});

afterAll(async () => {
  await dispatcher?.close();
});

const event = (n: number) => ({ topic: 'video:w', type: 'comment', data: { n } });

describe('web DispatcherClient', () => {
  it('publishes through the next dispatcher when the first is down, and stays on it', async () => {
    const client = new DispatcherClient([dead, live], TOKEN);
    const first = await client.publish([event(1)], { idempotencyKey: 'web:test:1' });
    const second = await client.publish([event(2)], { idempotencyKey: 'web:test:2' });
    expect(first).toHaveLength(1);
    expect(second).toHaveLength(1);
    expect(first[0]).not.toBe(second[0]);
  });

  it('sends the same Idempotency-Key to every dispatcher it tries', async () => {
    const refusing = await capture(503);
    const accepting = await capture(202);
    try {
      const client = new DispatcherClient([refusing.url, accepting.url], TOKEN);
      expect(await client.publish([event(3)], { idempotencyKey: 'web:comment:abc' })).toEqual(['id-1']);
      expect(refusing.requests.map((r) => [r.path, r.headers['idempotency-key']])).toEqual([
        ['/publish', 'web:comment:abc'],
      ]);
      expect(accepting.requests.map((r) => [r.path, r.headers['idempotency-key']])).toEqual([
        ['/publish', 'web:comment:abc'],
      ]);
      expect(accepting.requests[0]?.headers.authorization).toBe(`Bearer ${TOKEN}`);
    } finally {
      refusing.server.close();
      accepting.server.close();
    }
  });

  it('answers UNAVAILABLE when no dispatcher accepts', async () => {
    const client = new DispatcherClient([dead], TOKEN);
    await expect(client.publish([event(4)], { idempotencyKey: 'web:test:4' })).rejects.toMatchObject({
      code: 'UNAVAILABLE',
    });
  });

  it('answers INTERNAL (logged, not retried by the page) when the tier refuses what retrying cannot fix', async () => {
    // INTERNAL_TOKEN not the dispatchers' (a rotation half done): 401 from every one.
    const client = new DispatcherClient([live], 'not-the-dispatchers-token');
    await expect(client.publish([event(5)], { idempotencyKey: 'web:test:5' })).rejects.toMatchObject({
      code: 'INTERNAL',
      status: 500,
    });
  });

  it('is healthy when any dispatcher answers /healthz, and says why not otherwise', async () => {
    const unhealthy = await capture(503);
    // (A generous probe timeout: the refusals here are immediate; a loaded machine must not time out.)
    const client = (urls: string[]) => new DispatcherClient(urls, TOKEN, 5000);
    try {
      const down = await client([dead, unhealthy.url]).health();
      expect(down).toEqual({
        ok: false,
        detail: 'no dispatcher is healthy (dispatcher 1: ECONNREFUSED; dispatcher 2: answered 503)',
      });
      expect(unhealthy.requests.map((r) => r.path)).toEqual(['/healthz']);
      expect(await client([dead, unhealthy.url, live]).health()).toEqual({ ok: true });
    } finally {
      unhealthy.server.close();
    }
  });
  it('reads presence from the next dispatcher when one is down; none answering is UNAVAILABLE, a refusal INTERNAL', async () => {
    const client = new DispatcherClient([dead, live], TOKEN);
    expect(await client.online(['a', 'b'], 'video:w')).toEqual({ a: false, b: false });
    expect(await client.presence('video:w', { limit: 10 })).toEqual({ count: 0, guests: 0, viewers: [], next: null });
    await expect(new DispatcherClient([dead, dead], TOKEN).online(['a'])).rejects.toMatchObject({
      code: 'UNAVAILABLE',
      retryAfterSeconds: 1,
    });
    // A wrong token: the dispatcher's 401 is ours to fix, not a 503 the page would retry.
    await expect(new DispatcherClient([live], 'not-the-token').online(['a'])).rejects.toMatchObject({
      code: 'INTERNAL',
    });
  });
});
