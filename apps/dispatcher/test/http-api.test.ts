import { MAX_VIEWER_TOPICS, parsePositionId } from '@ovation/shared';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '../../../test-support/poll.js';
import { buildApp } from '../src/app.js';
import { loadDispatcherConfig } from '../src/config.js';

const TOKEN = 'dispatcher-test-token-123456';
const auth = { authorization: `Bearer ${TOKEN}` };

let app: FastifyInstance;

beforeAll(async () => {
  app = await buildApp(loadDispatcherConfig({ INTERNAL_TOKEN: TOKEN, LOG_LEVEL: 'silent' }));
});

afterAll(async () => {
  await app.close();
});

const publish = (payload: unknown, headers: Record<string, string> = auth, target?: FastifyInstance) =>
  (target ?? app).inject({
    method: 'POST',
    url: '/publish',
    headers: { 'content-type': 'application/json', ...headers },
    payload: typeof payload === 'string' ? payload : JSON.stringify(payload),
  });

function expectError(response: { statusCode: number; json: () => unknown }, status: number, code: string) {
  expect(response.statusCode).toBe(status);
  const body = response.json() as { error: { code: string; message: string } };
  expect(body.error.code).toBe(code);
  expect(body.error.message.length).toBeGreaterThan(0);
  expect(JSON.stringify(body)).not.toMatch(/at .*\.(js|ts):\d+/); // no stack trace
  return body.error.message;
}

describe('dispatcher HTTP API', () => {
  it('accepts a single event and a batch with 202 and one id per event', async () => {
    const one = await publish({ topic: 'video:1', type: 'comment', data: { text: 'hi' } });
    expect(one.statusCode).toBe(202);
    expect((one.json() as { ids: string[] }).ids).toHaveLength(1);
    const events = Array.from({ length: 1000 }, (_, i) => ({
      topic: `video:${i % 3}`,
      type: 'like',
      data: { count: 1 },
    }));
    const batch = await publish({ events });
    expect(batch.statusCode).toBe(202);
    const ids = (batch.json() as { ids: string[] }).ids;
    expect(new Set(ids).size).toBe(1000);
    // Each id is the event's place in its topic's log: video:1 already had one event.
    const positions = ids.map((id) => parsePositionId(id));
    expect(positions.every((p) => p !== undefined)).toBe(true);
    expect(positions.filter((_, i) => i % 3 === 1).map((p) => p?.pos)).toEqual(
      Array.from({ length: 333 }, (_, i) => i + 2),
    );
  });

  it('answers bad input with the contract error shape, naming the field', async () => {
    expectError(await publish('{"topic":'), 400, 'INVALID_JSON');
    expectError(await publish('[1,2]'), 400, 'VALIDATION_FAILED');
    expect(
      expectError(await publish({ topic: 'bad topic!', type: 'like', data: {} }), 400, 'VALIDATION_FAILED'),
    ).toContain('body.topic');
    expect(expectError(await publish({ topic: 'video:1', type: 7, data: {} }), 400, 'VALIDATION_FAILED')).toContain(
      'body.type',
    );
    expect(
      expectError(await publish({ topic: 'video:1', type: 'like', data: 'x' }), 400, 'VALIDATION_FAILED'),
    ).toContain('body.data');
    expect(
      expectError(await publish({ topic: 'video:1', type: 'like', data: { count: 0 } }), 400, 'VALIDATION_FAILED'),
    ).toContain('body.data.count');
    const tooMany = Array.from({ length: 1001 }, () => ({ topic: 't', type: 'like', data: { count: 1 } }));
    expect(expectError(await publish({ events: tooMany }), 400, 'VALIDATION_FAILED')).toContain('body.events');
    expectError(
      await publish({ topic: 't', type: 'like', data: { s: 'x'.repeat(70 * 1024) } }),
      413,
      'PAYLOAD_TOO_LARGE',
    );
  });

  it('refuses the event types the server keeps for its own frames, and presence, naming type', async () => {
    const types = ['connected', 'heartbeat', 'reconnect', 'resync', 'snapshot', 'error', 'message', 'open', 'presence'];
    for (const type of types) {
      const one = expectError(await publish({ topic: 'video:1', type, data: {} }), 400, 'VALIDATION_FAILED');
      expect(one).toContain('body.type');
      expect(one).toContain('reserved');
      const batch = {
        events: [
          { topic: 'video:1', type: 'comment', data: {} },
          { topic: 'video:1', type, data: {} },
        ],
      };
      expect(expectError(await publish(batch), 400, 'VALIDATION_FAILED')).toContain('body.events.1.type');
    }
  });

  it('answers a repeated Idempotency-Key with the first ids and accepts nothing twice', async () => {
    const keyed = (key: string, payload: unknown) => publish(payload, { ...auth, 'idempotency-key': key });
    const events = [
      { topic: 'video:idem', type: 'comment', data: { text: 'once' } },
      { topic: 'video:idem-2', type: 'like', data: { count: 3 } },
      { topic: 'video:idem', type: 'like', data: { count: 2 } },
    ];
    const first = await keyed('retry-me-1', { events });
    expect(first.statusCode).toBe(202);
    const ids = (first.json() as { ids: string[] }).ids;
    const again = await keyed('retry-me-1', { events });
    expect(again.statusCode).toBe(202);
    expect((again.json() as { ids: string[] }).ids).toEqual(ids);
    // The repeat took no position: the next event of the topic follows the first request's.
    const next = await publish({ topic: 'video:idem', type: 'comment', data: { text: 'next' } });
    const [nextId] = (next.json() as { ids: string[] }).ids;
    expect(parsePositionId(nextId as string)?.pos).toBe((parsePositionId(ids[2] as string)?.pos ?? 0) + 1);
    // A single event, and a key that is not valid.
    const single = { topic: 'video:idem', type: 'comment', data: { text: 'single' } };
    const s1 = (await keyed('single-1', single)).json() as { ids: string[] };
    expect((await keyed('single-1', single)).json()).toEqual(s1);
    expect(expectError(await keyed('x'.repeat(129), single), 400, 'VALIDATION_FAILED')).toContain('Idempotency-Key');
    expect(expectError(await keyed('caf\u00e9', single), 400, 'VALIDATION_FAILED')).toContain('Idempotency-Key');
  });

  it('accepts a batch event once per key: its repeat gets its first id, the rest is accepted', async () => {
    const tap = { topic: 'video:keyed', type: 'like', data: { count: 1 }, key: 'tap-batch-1' };
    const first = (await publish({ events: [tap, { topic: 'video:keyed', type: 'comment', data: {} }] })).json() as {
      ids: string[];
    };
    const second = await publish({ events: [{ topic: 'video:keyed', type: 'comment', data: { n: 2 } }, tap] });
    expect(second.statusCode).toBe(202);
    const ids = (second.json() as { ids: string[] }).ids;
    expect(ids[1]).toBe(first.ids[0]);
    expect(parsePositionId(ids[0] as string)?.pos).toBe(3);
    expect(expectError(await publish({ events: [{ ...tap, key: '' }] }), 400, 'VALIDATION_FAILED')).toContain(
      'body.events.0.key',
    );
  });

  it('keeps request keys and event keys apart, and refuses one key twice in a batch', async () => {
    const keyed = (key: string, payload: unknown) => publish(payload, { ...auth, 'idempotency-key': key });
    const ev = (n: number, key?: string) => ({
      topic: 'video:ns',
      type: 'comment',
      data: { n },
      ...(key ? { key } : {}),
    });
    const first = (await keyed('shared-name', { events: [ev(1), ev(2)] })).json() as { ids: string[] };
    // The same name as an event key is another key: the event is accepted, with an id of its own.
    const second = (await publish({ events: [ev(3, 'shared-name'), ev(4)] })).json() as { ids: string[] };
    expect(second.ids).toHaveLength(2);
    expect(second.ids.every((id) => parsePositionId(id) !== undefined)).toBe(true);
    expect(parsePositionId(second.ids[0] as string)?.pos).toBe((parsePositionId(first.ids[1] as string)?.pos ?? 0) + 1);
    // …and a request key named like a used event key is a first request too.
    const third = (await keyed('evt-name', { events: [ev(5), ev(6), ev(7)] })).json() as { ids: string[] };
    await publish({ events: [ev(8, 'evt-name-2')] });
    expect(third.ids).toHaveLength(3);
    expect(
      expectError(await publish({ events: [ev(9, 'twice'), ev(10, 'twice')] }), 400, 'VALIDATION_FAILED'),
    ).toContain('body.events.1.key');
  });

  it('labels metrics by the known event types only (publisher input mints no label values)', async () => {
    expect((await publish({ topic: 'video:1', type: 'zz_made_up_type', data: {} })).statusCode).toBe(202);
    const metrics = (await app.inject({ method: 'GET', url: '/metrics', headers: auth })).body;
    expect(metrics).not.toContain('zz_made_up_type');
    expect(metrics).toMatch(/dispatcher_published_events_total\{type="other"\} [1-9]/);
  });

  it('holds a relayed event to what a publisher could send: a bad one is dropped, its batch accepted', async () => {
    const relayed = (overrides: Record<string, unknown>, n: number) => ({
      id: `0mx5aaaaa-${n}-abcd1234-eu`,
      topic: 'video:relayed',
      type: 'comment',
      data: { n },
      ts: 1_800_000_000_000,
      region: 'eu',
      ...overrides,
    });
    const response = await app.inject({
      method: 'POST',
      url: '/internal/relay',
      headers: { ...auth, 'content-type': 'application/json' },
      payload: {
        events: [
          relayed({}, 1),
          relayed({ ts: 1e300 }, 2), // would make a 200-character id here
          relayed({ type: 'reconnect' }, 3),
          relayed({ data: { big: 'x'.repeat(9000) } }, 4),
          relayed({ type: 'like', data: { count: 0 } }, 5),
          relayed({ region: 'eu west!' }, 6),
        ],
      },
    });
    expect(response.statusCode).toBe(200);
    expect(response.json()).toEqual({ accepted: 1, duplicates: 0 });
    const metrics = (await app.inject({ method: 'GET', url: '/metrics', headers: auth })).body;
    expect(metrics).toMatch(/dispatcher_relay_received_total\{outcome="invalid"\} 5/);
  });

  it('refuses publishes without the right token', async () => {
    const event = { topic: 'video:1', type: 'like', data: { count: 1 } };
    expectError(await publish(event, {}), 401, 'UNAUTHORIZED');
    expectError(await publish(event, { authorization: 'Bearer wrong' }), 401, 'UNAUTHORIZED');
    expectError(await publish(event, { authorization: `Basic ${TOKEN}` }), 401, 'UNAUTHORIZED');
  });

  it('guards and validates the internal node endpoints', async () => {
    const beat = { nodeId: 'n1', url: 'http://127.0.0.1:9', counts: { 'video:1': 2 }, topics: 1 };
    const post = (url: string, payload: unknown, headers: Record<string, string> = auth) =>
      app.inject({ method: 'POST', url, headers, payload: payload as object });
    expectError(await post('/internal/nodes/heartbeat', beat, {}), 401, 'UNAUTHORIZED');
    expectError(await post('/internal/nodes/heartbeat', { ...beat, url: 'ftp://x' }), 400, 'VALIDATION_FAILED');
    expectError(
      await post('/internal/nodes/heartbeat', { ...beat, counts: { 'bad topic': 1 } }),
      400,
      'VALIDATION_FAILED',
    );
    expectError(
      await post('/internal/nodes/topics', { nodeId: 'n1', url: beat.url, add: ['a b'] }),
      400,
      'VALIDATION_FAILED',
    );
    // A node the registry does not know is asked for its full state; once synced, it is not.
    expect((await post('/internal/nodes/heartbeat', beat)).json()).toEqual({ ok: true, ttlMs: 5000, resync: true });
    const sync = { nodeId: 'n1', url: beat.url, syncId: 's1', counts: { 'video:1': 2 } };
    expect((await post('/internal/nodes/sync', { ...sync, last: false })).statusCode).toBe(200);
    expect((await post('/internal/nodes/sync', { ...sync, counts: {}, last: true })).statusCode).toBe(200);
    expect((await post('/internal/nodes/heartbeat', { ...beat, counts: {} })).json()).toEqual({
      ok: true,
      ttlMs: 5000,
    });
    const viewers = await app.inject({ method: 'GET', url: '/topics/video:1/viewers' });
    expect(viewers.json()).toEqual({ count: 2, byRegion: { local: 2 } });
    // Many topics in one call (the web's video list): the same sums, zero for unwatched topics.
    const batch = await post('/topics/viewers', { topics: ['video:1', 'video:none'] });
    expect(batch.json()).toEqual({ counts: { 'video:1': 2, 'video:none': 0 } });
    expectError(await post('/topics/viewers', { topics: ['video:1'] }, {}), 401, 'UNAUTHORIZED');
    expectError(await post('/topics/viewers', { topics: [] }), 400, 'VALIDATION_FAILED');
    const tooMany = Array.from({ length: MAX_VIEWER_TOPICS + 1 }, (_, i) => `video:${i}`);
    expectError(await post('/topics/viewers', { topics: tooMany }), 400, 'VALIDATION_FAILED');
    expectError(await post('/topics/viewers', { topics: ['a b'] }), 400, 'VALIDATION_FAILED');
    // A part names at most 5,000 topics; the node cuts more into several.
    const many = Object.fromEntries(Array.from({ length: 5001 }, (_, i) => [`t:${i}`, 1]));
    expectError(await post('/internal/nodes/sync', { ...sync, counts: many, last: false }), 400, 'VALIDATION_FAILED');
  });

  it('validates the topic of a viewers query and 404s unknown routes', async () => {
    expectError(
      await app.inject({ method: 'GET', url: `/topics/${'x'.repeat(200)}/viewers` }),
      400,
      'VALIDATION_FAILED',
    );
    expectError(await app.inject({ method: 'GET', url: `/topics/${'x'.repeat(600)}/viewers` }), 414, 'URI_TOO_LONG');
    expectError(await app.inject({ method: 'GET', url: '/nope' }), 404, 'NOT_FOUND');
  });

  it('still serves correct traffic after all of that', async () => {
    const ok = await publish({ topic: 'video:1', type: 'comment', data: { text: 'still here' } });
    expect(ok.statusCode).toBe(202);
    const health = await app.inject({ method: 'GET', url: '/healthz' });
    expect(health.statusCode).toBe(200);
    const metrics = await app.inject({ method: 'GET', url: '/metrics', headers: auth });
    expect(metrics.body).toContain('dispatcher_published_events_total');
  });
});

describe('dispatcher with its Redis down', () => {
  /** A dispatcher whose REDIS_URL names a port nothing listens on. */
  const dispatcherWithRedisDown = async () => {
    const { freePort } = await import('../../../test-support/ports.js');
    return buildApp(
      loadDispatcherConfig({
        INTERNAL_TOKEN: TOKEN,
        LOG_LEVEL: 'silent',
        REDIS_URL: `redis://127.0.0.1:${await freePort()}`,
      }),
    );
  };

  it('answers 503 with Retry-After to publishes and reports itself unhealthy', async () => {
    const down = await dispatcherWithRedisDown();
    try {
      const response = await down.inject({
        method: 'POST',
        url: '/publish',
        headers: { 'content-type': 'application/json', ...auth },
        payload: { topic: 'video:1', type: 'comment', data: { text: 'lost?' } },
      });
      expect(response.statusCode).toBe(503);
      expect(response.headers['retry-after']).toBe('1');
      expect(response.json()).toMatchObject({ error: { code: 'UNAVAILABLE' } });
      const health = await down.inject({ method: 'GET', url: '/healthz' });
      expect(health.statusCode).toBe(503);
      expect(health.json()).toMatchObject({ status: 'degraded', checks: { registry: { ok: false } } });
    } finally {
      await down.close();
    }
  });

  it('is still alive: /livez answers 200 whatever Redis does, where /healthz answers 503', async () => {
    const down = await dispatcherWithRedisDown();
    try {
      expect((await down.inject({ method: 'GET', url: '/healthz' })).statusCode).toBe(503);
      const live = await down.inject({ method: 'GET', url: '/livez' });
      expect(live.statusCode).toBe(200);
      expect(live.json()).toEqual({ status: 'alive' });
    } finally {
      await down.close();
    }
  });
});

describe('dispatcher /livez', () => {
  it('answers 200 alive without a token (the kubelet has none)', async () => {
    const live = await app.inject({ method: 'GET', url: '/livez' });
    expect(live.statusCode).toBe(200);
    expect(live.headers['content-type']).toMatch(/^application\/json/);
    expect(live.json()).toEqual({ status: 'alive' });
  });
});

describe('dispatcher backpressure', () => {
  it('refuses publishes with 503 while a subscribed node is too far behind, instead of dropping events', async () => {
    const { createServer } = await import('node:net');
    // A "node" that accepts connections and never answers: its queue can only grow.
    const stuck = createServer(() => {});
    await new Promise<void>((resolve) => stuck.listen(0, '127.0.0.1', resolve));
    const port = (stuck.address() as { port: number }).port;
    const app2 = await buildApp(loadDispatcherConfig({ INTERNAL_TOKEN: TOKEN, LOG_LEVEL: 'silent' }));
    try {
      const beat = await app2.inject({
        method: 'POST',
        url: '/internal/nodes/heartbeat',
        headers: auth,
        payload: { nodeId: 'stuck', url: `http://127.0.0.1:${port}`, counts: { 'video:bp': 1 }, topics: 1 },
      });
      expect(beat.statusCode).toBe(200);
      const events = Array.from({ length: 1000 }, () => ({ topic: 'video:bp', type: 'comment', data: { t: 'x' } }));
      const statuses: number[] = [];
      for (let i = 0; i < 25; i++) {
        const response = await app2.inject({
          method: 'POST',
          url: '/publish',
          headers: { 'content-type': 'application/json', ...auth },
          payload: { events },
        });
        statuses.push(response.statusCode);
        if (response.statusCode === 503) {
          expect(response.headers['retry-after']).toBe('1');
          expect(response.json()).toMatchObject({ error: { code: 'UNAVAILABLE' } });
        }
      }
      // About 20,000 events fit in the node's queue; after that every publish is refused.
      expect(statuses.filter((s) => s === 202).length).toBeGreaterThanOrEqual(20);
      expect(statuses.filter((s) => s === 202).length).toBeLessThanOrEqual(22);
      expect(statuses.at(-1)).toBe(503);
      // Other topics are not held back by one stuck node.
      const other = await app2.inject({
        method: 'POST',
        url: '/publish',
        headers: { 'content-type': 'application/json', ...auth },
        payload: { topic: 'video:elsewhere', type: 'comment', data: {} },
      });
      expect(other.statusCode).toBe(202);
    } finally {
      await app2.close();
      stuck.close();
    }
  });
});

describe('dispatcher delivery to nodes', () => {
  /** A node that fails the first `failures` deliveries (connection reset), then takes them; counts likes. */
  async function flakyNode(failures: number) {
    const { createServer } = await import('node:http');
    const received: number[] = [];
    let seen = 0;
    const server = createServer((req, res) => {
      let body = '';
      req.on('data', (chunk) => {
        body += chunk;
      });
      req.on('end', () => {
        if (seen++ < failures) {
          req.socket.destroy();
          return;
        }
        for (const e of (JSON.parse(body) as { events: Array<{ id: string; data: { count: number } }> }).events) {
          received.push(parsePositionId(e.id)?.pos ?? -1);
        }
        res.writeHead(204).end();
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
    return { server, url, received };
  }

  const register = (target: FastifyInstance, nodeId: string, url: string, topic: string) =>
    target.inject({
      method: 'POST',
      url: '/internal/nodes/heartbeat',
      headers: auth,
      payload: { nodeId, url, counts: { [topic]: 1 }, topics: 1 },
    });

  it('retries a delivery that failed while the node is registered: every like arrives', async () => {
    const node = await flakyNode(3);
    const app2 = await buildApp(loadDispatcherConfig({ INTERNAL_TOKEN: TOKEN, LOG_LEVEL: 'silent' }));
    try {
      expect((await register(app2, 'flaky', node.url, 'video:retry')).statusCode).toBe(200);
      for (let i = 0; i < 5; i++) {
        const response = await app2.inject({
          method: 'POST',
          url: '/publish',
          headers: { 'content-type': 'application/json', ...auth },
          payload: { topic: 'video:retry', type: 'like', data: { count: 1 } },
        });
        expect(response.statusCode).toBe(202);
      }
      await waitFor('every like at the node', () => new Set(node.received).size === 5, { timeoutMs: 5000 });
      expect([...new Set(node.received)].sort()).toEqual([1, 2, 3, 4, 5]);
      const metrics = (await app2.inject({ method: 'GET', url: '/metrics', headers: auth })).body;
      expect(metrics).toMatch(/dispatcher_node_batches_total\{outcome="retried"\} [1-9]/);
      expect(metrics).not.toMatch(/dispatcher_dropped_events_total\{reason="[a-z_]+"\} [1-9]/);
    } finally {
      await app2.close();
      node.server.close();
    }
  });

  it('stops retrying for a node whose liveness expired, and its topics are not held at 503', async () => {
    const { createServer } = await import('node:net');
    const hung = createServer(() => {}); // accepts, never answers
    await new Promise<void>((resolve) => hung.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(hung.address() as { port: number }).port}`;
    const app2 = await buildApp(
      loadDispatcherConfig({ INTERNAL_TOKEN: TOKEN, LOG_LEVEL: 'silent', NODE_TTL_MS: '3000' }),
    );
    const publishStatus = async () =>
      (
        await app2.inject({
          method: 'POST',
          url: '/publish',
          headers: { 'content-type': 'application/json', ...auth },
          payload: { events: Array.from({ length: 1000 }, () => ({ topic: 'video:hung', type: 'comment', data: {} })) },
        })
      ).statusCode;
    try {
      // Its deliveries hang but it still heartbeats: its queue fills (about 20 publishes of 1,000), then 503.
      expect((await register(app2, 'hung', url, 'video:hung')).statusCode).toBe(200);
      const beating = setInterval(() => void register(app2, 'hung', url, 'video:hung'), 300);
      let refused = false;
      try {
        for (let i = 0; i < 40 && !refused; i++) refused = (await publishStatus()) === 503;
      } finally {
        clearInterval(beating);
      }
      expect(refused).toBe(true);
      // Now its heartbeats stop: once its liveness (3 s) expired, the topic takes publishes again.
      const lastBeatAt = Date.now();
      await waitFor('publishes accepted again', async () => (await publishStatus()) === 202, {
        timeoutMs: 10_000,
        intervalMs: 100,
      });
      expect(Date.now() - lastBeatAt).toBeLessThan(3000 + 3000);
      const metrics = (await app2.inject({ method: 'GET', url: '/metrics', headers: auth })).body;
      expect(metrics).toMatch(/dispatcher_dropped_events_total\{reason="node_left"\} [1-9]/);
    } finally {
      await app2.close();
      hung.close();
    }
  });

  it('drops the one event a node refuses (400) after halving its batch, and delivers the rest', async () => {
    const { createServer } = await import('node:http');
    const received: number[] = [];
    const server = createServer((req, res) => {
      let body = '';
      req.on('data', (chunk) => {
        body += chunk;
      });
      req.on('end', () => {
        const events = (JSON.parse(body) as { events: Array<{ data: { n: number; bad?: boolean } }> }).events;
        if (events.some((e) => e.data.bad)) {
          res.writeHead(400).end();
          return;
        }
        for (const e of events) received.push(e.data.n);
        res.writeHead(204).end();
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
    const app2 = await buildApp(loadDispatcherConfig({ INTERNAL_TOKEN: TOKEN, LOG_LEVEL: 'silent' }));
    try {
      expect((await register(app2, 'picky', url, 'video:picky')).statusCode).toBe(200);
      const events = Array.from({ length: 10 }, (_, n) => ({
        topic: 'video:picky',
        type: 'comment',
        data: n === 6 ? { n, bad: true } : { n },
      }));
      // One request: the node gets them as one batch, refuses it, and the bad one is isolated.
      const stuck = setInterval(() => void register(app2, 'picky', url, 'video:picky'), 300);
      try {
        expect((await publish({ events }, auth, app2)).statusCode).toBe(202);
        await waitFor('the 9 good events at the node', () => received.length === 9, { timeoutMs: 5000 });
      } finally {
        clearInterval(stuck);
      }
      expect(received.sort((a, b) => a - b)).toEqual([0, 1, 2, 3, 4, 5, 7, 8, 9]);
      const metrics = (await app2.inject({ method: 'GET', url: '/metrics', headers: auth })).body;
      expect(metrics).toMatch(/dispatcher_dropped_events_total\{reason="refused_by_node"\} 1/);
    } finally {
      await app2.close();
      server.close();
    }
  });
});
