import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { freePort } from '@ovation/shared/server';
import type { FastifyInstance } from 'fastify';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../../apps/dispatcher/src/app.js';
import { loadDispatcherConfig } from '../../../apps/dispatcher/src/config.js';
import { events, PublishError, Publisher, type PublisherOptions } from '../src/index.js';

/*
 * The publisher against a real dispatcher (the in-memory engine) and, for failover, stand-ins that
 * refuse, fail or forward to it.
 */

const TOKEN = 'publisher-test-token';
let dispatcher: FastifyInstance;
let live: string;
let dead: string;
const closers: Array<() => unknown> = [];

beforeAll(async () => {
  dispatcher = await buildApp(loadDispatcherConfig({ INTERNAL_TOKEN: TOKEN, LOG_LEVEL: 'silent' }));
  live = await dispatcher.listen({ host: '127.0.0.1', port: 0 });
  dead = `http://127.0.0.1:${await freePort()}`; // nothing listens there
});

afterEach(async () => {
  for (const close of closers.splice(0)) await close();
});

afterAll(async () => {
  await dispatcher?.close();
});

interface Seen {
  headers: IncomingHttpHeaders;
  body: { events: Array<{ topic: string; type: string; data: unknown; key?: string }> };
}

type Answer = { status: number; headers?: Record<string, string>; body?: unknown } | 'forward';

/**
 * A stand-in dispatcher: `answer(n)` says what its n-th request (from 0) gets — a status of its
 * own, or `forward` to the real dispatcher (and its answer back). It keeps what it was sent.
 */
async function standIn(answer: (n: number) => Answer): Promise<{ url: string; seen: Seen[] }> {
  const seen: Seen[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', async () => {
      const text = Buffer.concat(chunks).toString();
      const what = answer(seen.length);
      seen.push({ headers: req.headers, body: JSON.parse(text) });
      if (what === 'forward') {
        const upstream = await fetch(`${live}/publish`, {
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            authorization: String(req.headers.authorization),
            'idempotency-key': String(req.headers['idempotency-key']),
          },
          body: text,
        });
        res.writeHead(upstream.status, { 'content-type': 'application/json' });
        res.end(await upstream.text());
        return;
      }
      res.writeHead(what.status, { 'content-type': 'application/json', ...what.headers });
      res.end(JSON.stringify(what.body ?? { error: { code: 'UNAVAILABLE', message: 'stand-in' } }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  closers.push(() => new Promise((resolve) => server.close(resolve)));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, seen };
}

/** A publisher whose requests are counted (per URL, in order). */
function publisher(options: Partial<PublisherOptions> & Pick<PublisherOptions, 'urls'>) {
  const requests: string[] = [];
  const concurrency = { now: 0, most: 0, requests: 0 };
  const instance = new Publisher({
    token: TOKEN,
    retry: { baseMs: 5, maxMs: 20 },
    ...options,
    fetch: async (input, init) => {
      requests.push(String(input).replace(/\/publish$/, ''));
      concurrency.requests++;
      concurrency.most = Math.max(concurrency.most, ++concurrency.now);
      try {
        return await fetch(input, init);
      } finally {
        concurrency.now--;
      }
    },
  });
  closers.push(() => instance.close());
  return { publisher: instance, requests, concurrency };
}

const comment = (n: number) =>
  events.comment({
    id: `c${n}`,
    videoId: 'p1',
    author: { id: 'u1', name: 'Ann' },
    text: `comment ${n}`,
    at: '2026-12-06T00:00:00.000Z',
  });

describe('batching', () => {
  it('sends events published within the window as one batch, and answers each with its own id', async () => {
    const { url, seen } = await standIn(() => 'forward');
    const { publisher: p } = publisher({ urls: [url], batch: { windowMs: 20 } });
    const ids = await Promise.all(Array.from({ length: 50 }, (_, n) => p.publish(comment(n))));
    expect(seen).toHaveLength(1);
    expect(seen[0]?.body.events.map((e) => (e.data as { id: string }).id)).toEqual(
      Array.from({ length: 50 }, (_, n) => `c${n}`),
    );
    expect(new Set(ids).size).toBe(50);
    // The dispatcher's ids carry the topic log's position: the events went in publish order.
    const positions = ids.map((id) => Number.parseInt(id.split('-')[1] as string, 36));
    expect(positions).toEqual([...positions].sort((a, b) => a - b));
  });

  it('has one batch in flight at a time; what is published meanwhile fills the next', async () => {
    const { publisher: p, concurrency } = publisher({ urls: [live], batch: { windowMs: 1, maxEvents: 10 } });
    const ids = await Promise.all(Array.from({ length: 25 }, (_, n) => p.publish(comment(100 + n))));
    expect(concurrency.most).toBe(1);
    expect(concurrency.requests).toBe(3);
    const positions = ids.map((id) => Number.parseInt(id.split('-')[1] as string, 36));
    expect(positions).toEqual([...positions].sort((a, b) => a - b));
  });

  it('splits at maxEvents: 25 events of 10 per request are 3 requests', async () => {
    const { url, seen } = await standIn(() => 'forward');
    const { publisher: p } = publisher({ urls: [url], batch: { windowMs: 50, maxEvents: 10 } });
    await Promise.all(Array.from({ length: 25 }, (_, n) => p.publish(comment(200 + n))));
    expect(seen.map((s) => s.body.events.length)).toEqual([10, 10, 5]);
    // Each batch has a key of its own.
    expect(new Set(seen.map((s) => s.headers['idempotency-key'])).size).toBe(3);
  });

  it('never puts one event key twice in a batch: the repeat waits for the next and gets the first id', async () => {
    const { url, seen } = await standIn(() => 'forward');
    const { publisher: p } = publisher({ urls: [url], batch: { windowMs: 20 } });
    const like = (key: string) => events.like('p2', { count: 1 }, { key });
    const [a, b, c] = await Promise.all([p.publish(like('k-a')), p.publish(like('k-b')), p.publish(like('k-a'))]);
    expect(seen.map((s) => s.body.events.map((e) => e.key))).toEqual([['k-a', 'k-b'], ['k-a']]);
    expect(c).toBe(a);
    expect(b).not.toBe(a);
  });

  it('refuses a bad event at once, without failing the others of its window', async () => {
    const { publisher: p, requests } = publisher({ urls: [live], batch: { windowMs: 20 } });
    const good = p.publish(comment(300));
    const reserved = p.publish({ topic: 'video:p1', type: 'reconnect', data: { afterMs: 0 } });
    const badTopic = p.publish({ topic: 'no spaces', type: 'comment', data: {} });
    const tooBig = p.publish({ topic: 'video:p1', type: 'note', data: { text: 'x'.repeat(9000) } });
    const noCount = p.publish({ topic: 'video:p1', type: 'like', data: { count: 0 } });
    for (const [bad, field] of [
      [reserved, 'type'],
      [badTopic, 'topic'],
      [tooBig, 'data'],
      [noCount, 'data.count'],
    ] as const) {
      await expect(bad).rejects.toMatchObject({ code: 'INVALID_EVENT', message: expect.stringMatching(`^${field}:`) });
    }
    expect(await good).toMatch(/-local$/);
    expect(requests).toHaveLength(1);
  });

  it('fails publishes beyond maxQueued at once, and refuses new ones once closed', async () => {
    const { publisher: p } = publisher({ urls: [live], batch: { windowMs: 50, maxQueued: 2 } });
    const first = [p.publish(comment(400)), p.publish(comment(401))];
    await expect(p.publish(comment(402))).rejects.toMatchObject({ code: 'QUEUE_FULL', retryable: true });
    await p.close();
    expect((await Promise.all(first)).length).toBe(2);
    await expect(p.publish(comment(403))).rejects.toMatchObject({ code: 'CLOSED' });
  });
});

describe('idempotency', () => {
  it('retries a batch with the same key: accepted by a dispatcher whose answer was lost, it is accepted once', async () => {
    // The first attempt reaches the real dispatcher, but its answer is lost (replaced by a 503).
    const lossy = await standIn(() => 'forward');
    const { url, seen } = await standIn(() => 'forward');
    let lost: unknown;
    const firstAnswerLost: typeof fetch = async (input, init) => {
      const response = await fetch(input, init);
      if (!String(input).startsWith(lossy.url)) return response;
      lost = JSON.parse(await response.text());
      return new Response('{"error":{"code":"UNAVAILABLE","message":"lost"}}', { status: 503 });
    };
    const p = new Publisher({ urls: [lossy.url, url], token: TOKEN, retry: { baseMs: 5 }, fetch: firstAnswerLost });
    closers.push(() => p.close());
    const ids = await Promise.all([p.publish(comment(500)), p.publish(comment(501))]);
    expect([lossy.seen.length, seen.length]).toEqual([1, 1]);
    // The same key to both dispatchers, so the second answered with the ids of what the first had
    // accepted: nothing was accepted twice.
    const key = lossy.seen[0]?.headers['idempotency-key'];
    expect(key).toMatch(/^[0-9a-f-]{36}$/);
    expect(seen[0]?.headers['idempotency-key']).toBe(key);
    expect(lost).toEqual({ ids });
  });

  it('send() uses the caller key on every attempt, and a repeat of it answers the first ids', async () => {
    const refusing = await standIn(() => ({ status: 503 }));
    const accepting = await standIn(() => 'forward');
    const { publisher: p } = publisher({ urls: [refusing.url, accepting.url] });
    const batch = [events.status('p3', 'live'), events.status('p3', 'live', { topic: 'videos' })];
    const first = await p.send(batch, { idempotencyKey: 'web:status:p3:live' });
    const repeat = await p.send(batch, { idempotencyKey: 'web:status:p3:live' });
    expect(first).toHaveLength(2);
    expect(repeat).toEqual(first);
    expect([...refusing.seen, ...accepting.seen].map((s) => s.headers['idempotency-key'])).toEqual([
      'web:status:p3:live',
      'web:status:p3:live',
      'web:status:p3:live',
    ]);
    expect(accepting.seen[0]?.headers.authorization).toBe(`Bearer ${TOKEN}`);
  });
});

describe('retries and failover', () => {
  it('moves past a dispatcher that refuses connections, and later requests start at the next one', async () => {
    const { publisher: p, requests } = publisher({ urls: [dead, live] });
    await p.send([comment(600)]);
    await p.send([comment(601)]);
    expect(requests).toEqual([dead, live, live]);
  });

  it('fails over on 5xx and no answer in time', async () => {
    const failing = await standIn(() => ({ status: 500, body: { error: { code: 'INTERNAL', message: 'x' } } }));
    const silent = createServer(() => {}); // takes the request, never answers
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    closers.push(() => {
      silent.closeAllConnections();
      return new Promise((resolve) => silent.close(resolve));
    });
    const slow = `http://127.0.0.1:${(silent.address() as AddressInfo).port}`;
    const { publisher: p, requests } = publisher({ urls: [failing.url, slow, live], timeoutMs: 200 });
    expect(await p.send([comment(610)])).toHaveLength(1);
    expect(requests).toEqual([failing.url, slow, live]);
  });

  it('waits for a 429 Retry-After before asking that dispatcher again', async () => {
    const limited = await standIn((n) =>
      n === 0
        ? { status: 429, headers: { 'retry-after': '1' }, body: { error: { code: 'RATE_LIMITED', message: 'slow' } } }
        : 'forward',
    );
    const { publisher: p } = publisher({ urls: [limited.url] });
    const started = performance.now();
    expect(await p.send([comment(620)])).toHaveLength(1);
    expect(performance.now() - started).toBeGreaterThanOrEqual(990);
    expect(limited.seen).toHaveLength(2);
  });

  it('does not wait longer than maxWaitMs: a long Retry-After fails at once and says when to come back', async () => {
    const unavailable = await standIn(() => ({ status: 503, headers: { 'retry-after': '30' } }));
    const { publisher: p } = publisher({ urls: [unavailable.url] });
    const started = performance.now();
    const error = await p.send([comment(630)]).catch((e: unknown) => e);
    expect(performance.now() - started).toBeLessThan(1000);
    expect(error).toBeInstanceOf(PublishError);
    expect(error).toMatchObject({ code: 'UNAVAILABLE', status: 503, retryAfterMs: 30_000, retryable: true });
    expect(unavailable.seen).toHaveLength(1);
  });

  it('does not retry a 4xx other than 429', async () => {
    const { publisher: p, requests } = publisher({ urls: [live, live], token: 'not-the-token' });
    await expect(p.send([comment(640)])).rejects.toMatchObject({ code: 'UNAUTHORIZED', status: 401, retryable: false });
    expect(requests).toHaveLength(1);
    const refusing = await standIn(() => ({
      status: 400,
      body: { error: { code: 'VALIDATION_FAILED', message: 'events.0.type: bad' } },
    }));
    const second = publisher({ urls: [refusing.url, live] });
    await expect(second.publisher.publish(comment(641))).rejects.toMatchObject({
      code: 'VALIDATION_FAILED',
      status: 400,
      message: expect.stringContaining('events.0.type: bad'),
    });
    expect(second.requests).toEqual([refusing.url]);
  });

  it('gives up after `attempts`, round the dispatchers, with the last error', async () => {
    const a = await standIn(() => ({ status: 503 }));
    const b = await standIn(() => ({ status: 502, body: '<html>bad gateway</html>' }));
    const { publisher: p, requests } = publisher({ urls: [a.url, b.url], retry: { attempts: 3, baseMs: 1, maxMs: 5 } });
    await expect(p.publish(comment(650))).rejects.toMatchObject({ status: 503, retryable: true });
    expect(requests).toEqual([a.url, b.url, a.url]);
  });
});
