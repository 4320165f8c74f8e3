import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { metricValue, postJson } from '../../../test-support/http.js';
import { startPipe } from '../../../test-support/pipe.js';
import { waitFor } from '../../../test-support/poll.js';
import { TestViewer } from '../../../test-support/sse-client.js';
import { buildApp } from '../src/app.js';
import { loadRealtimeConfig } from '../src/config.js';

/* A real dispatcher (memory registry) and a real realtime node, both listening on free ports. */

const TOKEN = 'realtime-test-token-123456';
let dispatcher: FastifyInstance;
let node: FastifyInstance;
let dispatcherUrl: string;
let nodeUrl: string;

beforeAll(async () => {
  ({ dispatcher, node, dispatcherUrl, nodeUrl } = await startPipe(TOKEN, {
    dispatcher: { VIEWER_COUNT_INTERVAL_MS: '100' },
    node: { HEARTBEAT_MS: '200', MAX_BUFFERED_BYTES: '65536', CORS_ORIGINS: 'http://web.example' },
  }));
});

afterAll(async () => {
  await node.close();
  await dispatcher.close();
});

const publish = (topic: string, type: string, data: Record<string, unknown>) =>
  postJson(`${dispatcherUrl}/publish`, { topic, type, data }, { authorization: `Bearer ${TOKEN}` });

/**
 * A node that will not serve a connection answers 200 with a stream that only holds `retry:`
 * (spread) and `reconnect`, then ends: an EventSource reconnects after it; an error status would
 * end it for good.
 */
async function expectSentAway(url: string) {
  const response = await fetch(url, { headers: { accept: 'text/event-stream' } });
  expect(response.status).toBe(200);
  expect(response.headers.get('content-type')).toBe('text/event-stream');
  const text = await response.text();
  const retry = Number(/^retry: (\d+)$/m.exec(text)?.[1]);
  expect(retry).toBeGreaterThanOrEqual(1000);
  expect(retry).toBeLessThan(3000);
  expect(text).toContain('event: reconnect');
  expect(text).not.toContain('event: connected');
}

describe('realtime node', () => {
  it('streams SSE with the contract headers, a connected frame first, then events', async () => {
    const viewer = await TestViewer.connect(`${nodeUrl}/connect?topics=video:a`, { origin: 'http://web.example' });
    expect(viewer.status).toBe(200);
    expect(viewer.headers['content-type']).toBe('text/event-stream');
    expect(viewer.headers['cache-control']).toBe('no-cache');
    expect(viewer.headers['x-accel-buffering']).toBe('no');
    expect(viewer.headers['access-control-allow-origin']).toBe('http://web.example');
    expect(viewer.frames[0]?.event).toBe('connected');
    const connected = JSON.parse(viewer.frames[0]?.data ?? '{}') as Record<string, string>;
    expect(connected).toMatchObject({ connectionId: viewer.connectionId, region: 'local' });
    expect(connected.nodeId).toMatch(/^rt-/);

    const data = { text: 'hello <b>world</b>', nested: { n: [1, 2] } };
    const published = await publish('video:a', 'comment', data);
    expect(published.status).toBe(202);
    const [id] = (published.body as { ids: string[] }).ids;
    const comments = await waitFor('the comment', () =>
      viewer.events('comment').length > 0 ? viewer.events('comment') : undefined,
    );
    expect(comments[0]).toMatchObject({ id, topic: 'video:a', data, originId: undefined });
    expect(typeof comments[0]?.ts).toBe('number');
    viewer.close();
  });

  it('sends heartbeats at least every HEARTBEAT_MS', async () => {
    const viewer = await TestViewer.connect(`${nodeUrl}/connect?topics=video:hb`);
    const start = Date.now();
    await waitFor('two heartbeats', () => viewer.frames.filter((f) => f.event === 'heartbeat').length >= 2, {
      timeoutMs: 2000,
    });
    // Two heartbeats within 2 x 200 ms plus scheduling slack.
    expect(Date.now() - start).toBeLessThan(1000);
    viewer.close();
  });

  it('subscribes and unsubscribes an open connection to topics', async () => {
    const viewer = await TestViewer.connect(`${nodeUrl}/connect`);
    const sub = await postJson(`${nodeUrl}/subscribe`, {
      connectionId: viewer.connectionId,
      topics: ['video:s1', 'video:s2'],
    });
    expect(sub.status).toBe(200);
    expect(sub.body).toEqual({ topics: ['video:s1', 'video:s2'] });
    await publish('video:s2', 'comment', { n: 1 });
    await waitFor('event on a topic subscribed by POST', () => viewer.events('comment').length === 1);

    const unsub = await postJson(`${nodeUrl}/unsubscribe`, { connectionId: viewer.connectionId, topics: ['video:s2'] });
    expect(unsub.body).toEqual({ topics: ['video:s1'] });
    await publish('video:s2', 'comment', { n: 2 });
    await publish('video:s1', 'comment', { n: 3 });
    await waitFor('event on the remaining topic', () => viewer.events('comment').length === 2);
    expect(viewer.events('comment').map((e) => e.data.n)).toEqual([1, 3]);
    viewer.close();
  });

  it('publishes viewer counts that rise and fall with viewers', async () => {
    const first = await TestViewer.connect(`${nodeUrl}/connect?topics=video:count`);
    const second = await TestViewer.connect(`${nodeUrl}/connect?topics=video:count`);
    const counts = () => first.events('viewers').map((e) => e.data.count);
    await waitFor('viewers 2', () => counts().includes(2));
    second.close();
    await waitFor('viewers 1 after one left', () => counts().at(-1) === 1);
    first.close();
  });

  it('answers bad input with the contract error shape and keeps serving', async () => {
    const bad = await fetch(`${nodeUrl}/connect?topics=ok,not%20ok`);
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: { code: string } }).error.code).toBe('VALIDATION_FAILED');

    const unknown = await postJson(`${nodeUrl}/subscribe`, { connectionId: 'nope', topics: ['video:x'] });
    expect(unknown.status).toBe(404);
    expect(unknown.body).toMatchObject({ error: { code: 'CONNECTION_NOT_FOUND' } });

    const malformed = await postJson(`${nodeUrl}/subscribe`, '{"connectionId":');
    expect(malformed.status).toBe(400);
    expect(malformed.body).toMatchObject({ error: { code: 'INVALID_JSON' } });

    const wrongType = await postJson(`${nodeUrl}/subscribe`, { connectionId: 5, topics: 'video:x' });
    expect(wrongType.status).toBe(400);
    expect((wrongType.body as { error: { message: string } }).error.message).toContain('body.connectionId');

    const tooBig = await postJson(`${nodeUrl}/unsubscribe`, {
      connectionId: 'x',
      topics: ['a'],
      pad: 'x'.repeat(70_000),
    });
    expect(tooBig.status).toBe(413);

    const noToken = await postJson(`${nodeUrl}/internal/deliver`, { events: [] });
    expect(noToken.status).toBe(401);
    const badBatch = await postJson(
      `${nodeUrl}/internal/deliver`,
      { events: [{ id: 1 }] },
      { authorization: `Bearer ${TOKEN}` },
    );
    expect(badBatch.status).toBe(400);

    const viewer = await TestViewer.connect(`${nodeUrl}/connect?topics=video:after`);
    await publish('video:after', 'comment', { ok: true });
    await waitFor('delivery after bad input', () => viewer.events('comment').length === 1);
    viewer.close();
  });

  it('closes a client that stops reading once its buffer passes the bound, without slowing others', async () => {
    const before = await metricValue(nodeUrl, 'realtime_slow_client_drops_total', {}, TOKEN);
    // A raw socket that never reads: the kernel buffers fill, then the node's bound trips.
    const { connect } = await import('node:net');
    const { port } = new URL(nodeUrl);
    const stuck = connect(Number(port), '127.0.0.1');
    stuck.write('GET /connect?topics=video:slow HTTP/1.1\r\nHost: x\r\nAccept: text/event-stream\r\n\r\n');
    stuck.pause();
    const healthy = await TestViewer.connect(`${nodeUrl}/connect?topics=video:slow`);
    await waitFor(
      'stuck client registered',
      async () => (await metricValue(nodeUrl, 'realtime_connections', {}, TOKEN)) >= 2,
    );

    // Loopback kernel buffers absorb several MB first: publish up to ~36 MB in 60 KB batches.
    const big = 'x'.repeat(7400);
    let sent = 0;
    for (let batch = 0; batch < 600; batch++) {
      const events = Array.from({ length: 8 }, (_, i) => ({ topic: 'video:slow', type: 'comment', data: { i, big } }));
      const response = await postJson(`${dispatcherUrl}/publish`, { events }, { authorization: `Bearer ${TOKEN}` });
      expect(response.status).toBe(202);
      sent += events.length;
      if (batch % 10 === 9 && (await metricValue(nodeUrl, 'realtime_slow_client_drops_total', {}, TOKEN)) > before)
        break;
    }
    await waitFor(
      'the stuck client to be dropped',
      async () => (await metricValue(nodeUrl, 'realtime_slow_client_drops_total', {}, TOKEN)) > before,
    );
    expect(await metricValue(nodeUrl, 'realtime_slow_client_drops_total', {}, TOKEN)).toBe(before + 1);
    await waitFor(`healthy viewer to receive all ${sent} events`, () => healthy.events('comment').length === sent);
    expect(healthy.closed).toBe(false);
    stuck.destroy();
    healthy.close();
  });

  it('drains on shutdown: reconnect turns spread over DRAIN_MS, delivery until each turn, then unregisters', async () => {
    const draining = await buildApp(
      loadRealtimeConfig({
        INTERNAL_TOKEN: TOKEN,
        LOG_LEVEL: 'silent',
        DISPATCHER_URLS: dispatcherUrl,
        DRAIN_MS: '3000',
        NODE_ID: 'rt-draining',
      }),
    );
    const url = await draining.listen({ host: '127.0.0.1', port: 0 });
    const group = await Promise.all(
      Array.from({ length: 20 }, () => TestViewer.connect(`${url}/connect?topics=video:drain`)),
    );
    await waitFor('the node to be registered', async () => {
      const body = (await (await fetch(`${dispatcherUrl}/topics/video:drain/viewers`)).json()) as { count: number };
      return body.count === 20;
    });
    const startedAt = Date.now();
    const closing = draining.close();
    await waitFor('every viewer to get its reconnect turn', () =>
      group.every((v) => v.frames.some((f) => f.event === 'reconnect')),
    );
    const turns = group.map(
      (v) => (JSON.parse(v.frames.find((f) => f.event === 'reconnect')?.data ?? '{}') as { afterMs: number }).afterMs,
    );
    for (const afterMs of turns) {
      expect(afterMs).toBeGreaterThanOrEqual(0);
      expect(afterMs).toBeLessThan(3000);
    }
    expect(new Set(turns).size).toBeGreaterThan(10); // spread, not one instant for everybody
    // Draining: not healthy, no new viewers (sent on with a stream an EventSource survives)...
    expect((await fetch(`${url}/healthz`)).status).toBe(503);
    await expectSentAway(`${url}/connect?topics=video:drain`);
    // ...but viewers whose turn has not come still receive events.
    await publish('video:drain', 'comment', { during: 'drain' });
    const stillOpenAt = Date.now() - startedAt;
    const waiting = group.filter((_, i) => (turns[i] ?? 0) > stillOpenAt + 500);
    expect(waiting.length).toBeGreaterThan(0);
    await waitFor('viewers still in the drain to get the comment', () =>
      waiting.every((v) => v.events('comment').some((e) => e.data.during === 'drain')),
    );
    await closing;
    for (const viewer of group) await waitFor('stream closed', () => viewer.closed);
    expect(Date.now() - startedAt).toBeGreaterThanOrEqual(Math.max(...turns));
    // And its topics left the registry.
    const after = (await (await fetch(`${dispatcherUrl}/topics/video:drain/viewers`)).json()) as { count: number };
    expect(after.count).toBe(0);
  });

  it('sends connections past MAX_CONNECTIONS elsewhere, with a stream a standard EventSource survives', async () => {
    const small = await buildApp(
      loadRealtimeConfig({
        INTERNAL_TOKEN: TOKEN,
        LOG_LEVEL: 'silent',
        DISPATCHER_URLS: dispatcherUrl,
        MAX_CONNECTIONS: '2',
      }),
    );
    const url = await small.listen({ host: '127.0.0.1', port: 0 });
    try {
      const open = [await TestViewer.connect(`${url}/connect`), await TestViewer.connect(`${url}/connect`)];
      await expectSentAway(`${url}/connect`);
      for (const viewer of open) viewer.close();
    } finally {
      await small.close();
    }
  });

  it("collects client latency reports, bounded per connection, into the topic's p50/p99 at the dispatcher", async () => {
    const viewer = await TestViewer.connect(`${nodeUrl}/connect?topics=video:lat`);
    const report = (body: unknown) => postJson(`${nodeUrl}/latency`, body);
    const samples = [...Array(90).fill(12), ...Array(10).fill(180)];
    expect((await report({ connectionId: viewer.connectionId, topic: 'video:lat', samples })).status).toBe(204);
    const again = await report({ connectionId: viewer.connectionId, topic: 'video:lat', samples: [1] });
    expect(again.status).toBe(429);
    expect(again.headers.get('retry-after')).toBe('1');
    expect((await report({ connectionId: 'nope', topic: 'video:lat', samples: [1] })).status).toBe(404);
    expect((await report({ connectionId: viewer.connectionId, topic: 'video:other', samples: [1] })).status).toBe(400);
    expect((await report({ connectionId: viewer.connectionId, topic: 'video:lat', samples: [-1] })).status).toBe(400);
    expect(
      (await report({ connectionId: viewer.connectionId, topic: 'video:lat', samples: Array(101).fill(1) })).status,
    ).toBe(400);

    // The next node heartbeat carries the counts to the dispatcher tier.
    const summary = await waitFor('latency summary at the dispatcher', async () => {
      const body = (await (await fetch(`${dispatcherUrl}/topics/video:lat/latency`)).json()) as {
        count: number;
        p50: number;
        p99: number;
      };
      return body.count === 100 ? body : undefined;
    });
    expect(summary.p50).toBeGreaterThanOrEqual(10);
    expect(summary.p50).toBeLessThanOrEqual(20);
    expect(summary.p99).toBeGreaterThanOrEqual(150);
    expect(summary.p99).toBeLessThanOrEqual(200);
    expect(await metricValue(nodeUrl, 'realtime_client_latency_seconds_count', {}, TOKEN)).toBeGreaterThanOrEqual(100);
    viewer.close();
  });

  it('reports health and metrics', async () => {
    const health = await fetch(`${nodeUrl}/healthz`);
    expect(health.status).toBe(200);
    const text = await (await fetch(`${nodeUrl}/metrics`, { headers: { authorization: `Bearer ${TOKEN}` } })).text();
    for (const name of [
      'realtime_connections',
      'realtime_subscriptions',
      'realtime_events_delivered_total',
      'realtime_bytes_out_total',
      'realtime_slow_client_drops_total',
      'realtime_fanout_seconds_bucket',
    ]) {
      expect(text).toContain(name);
    }
  });
});

describe('realtime /livez', () => {
  it('answers 200 alive without a token while no dispatcher answers, when /healthz answers 503', async () => {
    const { freePort } = await import('../../../test-support/ports.js');
    const alone = await buildApp(
      loadRealtimeConfig({
        INTERNAL_TOKEN: TOKEN,
        LOG_LEVEL: 'silent',
        DISPATCHER_URLS: `http://127.0.0.1:${await freePort()}`,
      }),
    );
    const url = await alone.listen({ host: '127.0.0.1', port: 0 });
    try {
      const health = await fetch(`${url}/healthz`);
      expect(health.status).toBe(503);
      expect(await health.json()).toMatchObject({ status: 'degraded', checks: { dispatcher: { ok: false } } });
      const live = await fetch(`${url}/livez`);
      expect(live.status).toBe(200);
      expect(await live.json()).toEqual({ status: 'alive' });
    } finally {
      await alone.close();
    }
  });

  it('answers 200 alive while the node drains, when /healthz answers 503 draining', async () => {
    const draining = await buildApp(
      loadRealtimeConfig({
        INTERNAL_TOKEN: TOKEN,
        LOG_LEVEL: 'silent',
        DISPATCHER_URLS: dispatcherUrl,
        DRAIN_MS: '2000',
      }),
    );
    const url = await draining.listen({ host: '127.0.0.1', port: 0 });
    // A viewer keeps the drain going for up to DRAIN_MS.
    const viewer = await TestViewer.connect(`${url}/connect?topics=video:livez`);
    const closing = draining.close();
    try {
      await waitFor('the node to say it drains', async () => {
        const health = await fetch(`${url}/healthz`);
        return health.status === 503 && ((await health.json()) as { status: string }).status === 'draining';
      });
      const live = await fetch(`${url}/livez`);
      expect(live.status).toBe(200);
      expect(await live.json()).toEqual({ status: 'alive' });
    } finally {
      viewer.close();
      await closing;
    }
  });
});
