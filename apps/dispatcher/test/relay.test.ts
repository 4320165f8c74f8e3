import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { slotOf } from '@ovation/shared/redis';
import type { FastifyInstance } from 'fastify';
import { Agent } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import { metricValue } from '../../../test-support/http.js';
import { waitFor } from '../../../test-support/poll.js';
import { redisForThisFile } from '../../../test-support/shared-redis.js';
import { buildApp } from '../src/app.js';
import { loadDispatcherConfig } from '../src/config.js';
import { createDispatcherMetrics } from '../src/metrics.js';
import { MemoryRegistry } from '../src/registry/memory-registry.js';
import type { FreshDuty } from '../src/registry/registry.js';
import { MemoryOutbox, type RelayOutbox } from '../src/relay/outbox.js';
import { OutboxRelayer } from '../src/relay/relayer.js';
import { outboxKey } from '../src/topic-log/redis-topic-log.js';

const TOKEN = 'relay-test-token-0123456789';
const shared = redisForThisFile('relay-test', { cluster: true });

/** A peer that answers 503 while `down`, and records the events it took (their `n`, or `data.n`). */
async function fakePeer() {
  const peer = { down: true, received: [] as number[], requests: 0, server: undefined as Server | undefined };
  peer.server = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk) => {
      body += chunk;
    });
    req.on('end', () => {
      // Viewer counts (/internal/region-counts) are not what these tests look at.
      if (req.url !== '/internal/relay') {
        res.writeHead(200).end('{}');
        return;
      }
      peer.requests++;
      if (peer.down) {
        res.writeHead(503).end();
        return;
      }
      for (const e of (JSON.parse(body) as { events: Array<{ n?: number; data?: { n: number } }> }).events) {
        peer.received.push(e.n ?? e.data?.n ?? -1);
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"accepted":1,"duplicates":0}');
    });
  });
  await new Promise<void>((resolve) => peer.server?.listen(0, '127.0.0.1', resolve));
  return { peer, url: `http://127.0.0.1:${(peer.server.address() as AddressInfo).port}` };
}

let cleanup: Array<() => unknown> = [];
afterEach(async () => {
  for (const c of cleanup.reverse()) await c();
  cleanup = [];
});

/** A dispatcher of region us relaying to peer eu at `peerUrl`, on this file's Redis server or cluster. */
async function relayingDispatcher(
  store: 'one server' | 'cluster',
  prefix: string,
  peerUrl: string,
  env: Record<string, string> = {},
): Promise<FastifyInstance> {
  const app = await buildApp(
    loadDispatcherConfig({
      INTERNAL_TOKEN: TOKEN,
      LOG_LEVEL: 'silent',
      ...(store === 'cluster'
        ? { REDIS_CLUSTER_NODES: shared.cluster().seeds }
        : { REDIS_URL: `redis://127.0.0.1:${(shared.client().options as { port: number }).port}` }),
      REDIS_PREFIX: prefix,
      REGION: 'us',
      PEERS: `eu=${peerUrl}`,
      ...env,
    }),
  );
  await app.ready();
  // Commands fail fast until the Redis connection is up (no offline queue): wait for it.
  await waitFor(
    'the dispatcher to reach Redis',
    async () => (await app.inject({ url: '/healthz' })).statusCode === 200,
  );
  return app;
}

/** POST /publish with the internal token. */
function publishTo(app: FastifyInstance, payload: object) {
  return app.inject({
    method: 'POST',
    url: '/publish',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${TOKEN}` },
    payload,
  });
}

describe('OutboxRelayer', () => {
  it('keeps what it read ahead and the most recent events while the peer is down, drains in order when back', async () => {
    const { peer, url } = await fakePeer();
    const agent = new Agent();
    const metrics = createDispatcherMetrics();
    const outbox = new MemoryOutbox(['eu'], 50);
    const relayer = new OutboxRelayer(
      { region: 'eu', urls: [url] },
      {
        outbox,
        claim: async () => true,
        release: async () => {},
        token: 't',
        agent,
        metrics,
        random: () => 0.5,
        readAhead: 10,
      },
    );
    relayer.start();
    cleanup.push(
      () => relayer.stop(),
      () => agent.close(),
      () => peer.server?.close(),
    );
    for (let n = 0; n < 80; n++) outbox.add([JSON.stringify({ n })]);
    await waitFor('a few failed attempts (backoff)', () => peer.requests >= 3);
    expect(outbox.dropped).toBe(30);
    peer.down = false;
    outbox.add([JSON.stringify({ n: 80 })]);
    await waitFor(
      'the last event at the peer',
      async () => (await outbox.size('eu')) === 0 && peer.received.at(-1) === 80,
      {
        timeoutMs: 15_000,
      },
    );
    // The outbox kept the newest 50 and dropped (and counted) the oldest; what it kept and what the
    // relayer had read ahead went in order, none twice, without a hole.
    const first = peer.received[0] as number;
    expect(peer.received).toEqual(Array.from({ length: 81 - first }, (_, i) => first + i));
    expect(first).toBeGreaterThan(0);
    expect(outbox.dropped).toBeGreaterThanOrEqual(first);
  });
});

describe('OutboxRelayer when its store goes away', () => {
  /**
   * The region's store as two dispatchers see it — an outbox and the relay duty — out of reach
   * while `down`, and wiped by `wipe()` (outbox emptied, duties forgotten: a new registry).
   */
  const regionStore = () => {
    const inner = new MemoryOutbox(['eu'], 1000);
    const store = { down: false, registry: new MemoryRegistry(), refusedClaims: new Set<string>() };
    const reach = (who?: string) => {
      if (!store.down) return;
      if (who) store.refusedClaims.add(who);
      throw new Error('Command timed out');
    };
    const outbox: RelayOutbox = {
      read: async (...args) => {
        reach();
        return inner.read(...args);
      },
      ack: async (...args) => {
        reach();
        return inner.ack(...args);
      },
      size: async (...args) => {
        reach();
        return inner.size(...args);
      },
      add: (wires) => inner.add(wires),
      close: () => inner.close(),
    };
    const wipe = async () => {
      await inner.ack(
        'eu',
        (await inner.read('eu', '0', 1000, 0)).map((e) => e.id),
      );
      store.registry = new MemoryRegistry();
    };
    return { store, outbox, reach, wipe };
  };

  const relayers = async (
    outbox: RelayOutbox,
    claim: (who: string, ttlMs: number, fresh: FreshDuty) => Promise<boolean>,
  ) => {
    const { peer, url } = await fakePeer();
    const agent = new Agent();
    cleanup.push(
      () => agent.close(),
      () => peer.server?.close(),
    );
    const start = (who: string) => {
      const relayer = new OutboxRelayer(
        { region: 'eu', urls: [url] },
        {
          outbox,
          claim: (ttlMs, fresh) => claim(who, ttlMs, fresh),
          release: async () => {},
          token: 't',
          agent,
          metrics: createDispatcherMetrics(),
          random: () => 0.5,
        },
      );
      relayer.start();
      cleanup.push(() => relayer.stop());
      return relayer;
    };
    return { peer, start };
  };

  it('keeps what it read while the store is out of reach, and sends it first when the store comes back empty', async () => {
    const { store, outbox, reach, wipe } = regionStore();
    const { peer, start } = await relayers(outbox, async (who, ttlMs, fresh) => {
      reach(who);
      return store.registry.claimDuty('relay:eu', who, ttlMs, fresh);
    });
    start('a');
    for (let n = 0; n < 10; n++) outbox.add([JSON.stringify({ n })]);
    await waitFor('the holder read them and tried the peer', () => peer.requests >= 2);
    // The store goes away and comes back empty (outbox and duty gone); a second dispatcher is up
    // and also finds the store out of reach.
    store.down = true;
    start('b');
    await waitFor('both found the store out of reach', () => store.refusedClaims.size === 2);
    await wipe();
    store.down = false;
    peer.down = false;
    for (let n = 10; n < 15; n++) outbox.add([JSON.stringify({ n })]);
    await waitFor('the last event at the peer', () => peer.received.at(-1) === 14, { timeoutMs: 15_000 });
    expect(peer.received).toEqual(Array.from({ length: 15 }, (_, n) => n));
  });

  it('keeps its place when the store comes back empty before another dispatcher noticed it was gone', async () => {
    const { store, outbox, wipe } = regionStore();
    const { peer, start } = await relayers(outbox, (who, ttlMs, fresh) =>
      store.registry.claimDuty('relay:eu', who, ttlMs, fresh),
    );
    start('a');
    for (let n = 0; n < 10; n++) outbox.add([JSON.stringify({ n })]);
    await waitFor('the holder read them and tried the peer', () => peer.requests >= 2);
    start('b');
    // Between two of b's claims the store restarted empty: b finds the duty free at once.
    await wipe();
    peer.down = false;
    for (let n = 10; n < 15; n++) outbox.add([JSON.stringify({ n })]);
    await waitFor('the last event at the peer', () => peer.received.at(-1) === 14, { timeoutMs: 15_000 });
    expect(peer.received).toEqual(Array.from({ length: 15 }, (_, n) => n));
  });
});

describe.each(['one server', 'cluster'] as const)('relay through the Redis outbox (%s)', (store) => {
  const onCluster = store === 'cluster';
  const client = () => (onCluster ? shared.clusterClient() : shared.client());
  /** The outbox of peer eu holding video:r's events: one per peer, or on a cluster one per slot. */
  const outbox = (prefix: string) => outboxKey(prefix, 'eu', onCluster ? slotOf('video:r') : -1);
  const dispatcher = (prefix: string, peerUrl: string) => relayingDispatcher(store, prefix, peerUrl);
  const publish = (app: FastifyInstance, n: number) =>
    publishTo(app, { events: [{ topic: 'video:r', type: n % 2 ? 'like' : 'comment', data: { n, count: 1 } }] });

  it('relays every accepted event even when the dispatcher that accepted it is gone: another one takes over', async () => {
    const { peer, url } = await fakePeer();
    cleanup.push(() => peer.server?.close());
    const prefix = shared.prefix();
    const first = await dispatcher(prefix, url);
    // Accepted while the peer is down: in the outbox, in the same step as the 202.
    for (let n = 0; n < 20; n++) expect((await publish(first, n)).statusCode).toBe(202);
    expect(await client().xlen(outbox(prefix))).toBe(20);
    await first.close(); // gone, with what it had not relayed
    peer.down = false;
    const second = await dispatcher(prefix, url);
    cleanup.push(() => second.close());
    await waitFor('the peer to have every event', () => peer.received.length >= 20, { timeoutMs: 15_000 });
    // In the order they were accepted; once each (the peer also dedupes by origin id).
    expect(peer.received).toEqual(Array.from({ length: 20 }, (_, n) => n));
    await waitFor('the outbox to be empty', async () => (await client().xlen(outbox(prefix))) === 0);
  });
});

describe('relay from a Redis Cluster: an outbox per slot', () => {
  it('relays topics of many slots once each, finds outboxes its index lacks, and empties the index', async () => {
    const { peer, url } = await fakePeer();
    cleanup.push(() => peer.server?.close());
    const prefix = shared.prefix();
    const start = () => relayingDispatcher('cluster', prefix, url);
    const first = await start();
    const topics = Array.from({ length: 20 }, (_, i) => `video:slots-${i}`);
    const response = await publishTo(first, {
      events: topics.map((topic, n) => ({ topic, type: 'comment', data: { n } })),
    });
    expect(response.statusCode).toBe(202);
    const index = `${prefix}:relay:eu:slots`;
    const slots = new Set(topics.map((t) => slotOf(t)));
    expect(await shared.clusterClient().zcard(index)).toBe(slots.size);
    await first.close();
    // As if the dispatcher died between accepting and indexing: the next relayer scans for them.
    await shared.clusterClient().del(index);
    peer.down = false;
    const second = await start();
    cleanup.push(() => second.close());
    await waitFor('the peer to have every event', () => peer.received.length >= 20, { timeoutMs: 15_000 });
    expect([...peer.received].sort((a, b) => a - b)).toEqual(Array.from({ length: 20 }, (_, n) => n));
    await waitFor('the index to be empty', async () => (await shared.clusterClient().zcard(index)) === 0);
    expect(peer.received).toHaveLength(20);
  });
});

describe('relay from a Redis Cluster whose replicas confirm (REDIS_WAIT_REPLICAS 1)', () => {
  /*
   * An accept no replica confirmed gets 503, but its outbox entry is written with it. Sent on, a
   * peer would show events a failover can take back from this region's log (the peer then drops
   * the event that takes their position here as one it had). The relayer sends an entry only once
   * the replicas have it.
   */
  it('sends a peer nothing the replicas lack, and sends it once they have it', async () => {
    const { peer, url } = await fakePeer();
    peer.down = false;
    cleanup.push(() => peer.server?.close());
    const app = await relayingDispatcher('cluster', shared.prefix(), url);
    cleanup.push(() => app.close());
    const topic = 'video:relay-confirmed';
    const publish = async (n: number) => (await publishTo(app, { topic, type: 'comment', data: { n } })).statusCode;
    expect(await publish(0)).toBe(202);
    await waitFor('the peer to have the first event', () => peer.received.includes(0), { timeoutMs: 10_000 });

    const cluster = shared.cluster();
    const replica = await cluster.replicaOf(await cluster.masterPortOf(`{${topic}}`));
    cluster.pause(replica);
    try {
      expect(await publish(1), 'an accept no replica confirmed').toBe(503);
      // Nothing to wait for: the relayer reads its outbox every 50 ms, so 1.5 s is thirty chances
      // to send the entry a replica lacks.
      await new Promise((resolve) => setTimeout(resolve, 1500));
      expect(peer.received).toEqual([0]);
    } finally {
      cluster.resume(replica);
    }
    await waitFor('the peer to have it once the replica does', () => peer.received.includes(1), { timeoutMs: 10_000 });
    expect(peer.received).toEqual([0, 1]);
  });
});

describe('a publish accepted again after its region lost the first answer', () => {
  it('reaches a peer once: the peer knows it by its key in the region it came from', async () => {
    // The peer region: a real dispatcher (memory engine) listening for relays.
    const eu = await buildApp(loadDispatcherConfig({ INTERNAL_TOKEN: TOKEN, LOG_LEVEL: 'silent', REGION: 'eu' }));
    cleanup.push(() => eu.close());
    const euUrl = await eu.listen({ port: 0, host: '127.0.0.1' });
    const prefix = shared.prefix();
    const us = await buildApp(
      loadDispatcherConfig({
        INTERNAL_TOKEN: TOKEN,
        LOG_LEVEL: 'silent',
        REDIS_URL: `redis://127.0.0.1:${(shared.client().options as { port: number }).port}`,
        REDIS_PREFIX: prefix,
        REGION: 'us',
        PEERS: `eu=${euUrl}`,
      }),
    );
    cleanup.push(() => us.close());
    await us.ready();
    const publish = () =>
      us.inject({
        method: 'POST',
        url: '/publish',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${TOKEN}`, 'idempotency-key': 'k-1' },
        payload: { events: [{ topic: 'video:again', type: 'comment', data: { text: 'hi' } }] },
      });
    const relayed = (outcome: string) => metricValue(euUrl, 'dispatcher_relay_received_total', { outcome }, TOKEN);
    const first = await waitFor('a first 202', async () => ((await publish()).statusCode === 202 ? true : undefined));
    expect(first).toBe(true);
    await waitFor('the peer to have it', async () => (await relayed('accepted')) === 1, { timeoutMs: 15_000 });

    // us's Redis loses everything (the publisher's key with it); the publisher, which never saw
    // the first answer, sends the request again: accepted again in us, under new ids.
    const keys = await shared.client().keys(`${prefix}:*`);
    await shared.client().del(...keys);
    const again = await waitFor('a second 202', async () => {
      const response = await publish();
      return response.statusCode === 202 ? response : undefined;
    });
    expect(again.json().ids).toHaveLength(1);
    await waitFor('the peer to see it again', async () => (await relayed('duplicate')) === 1, { timeoutMs: 15_000 });
    expect(await relayed('accepted')).toBe(1);
  });
});

describe('the relay outbox while a peer is down', () => {
  it('stays within its byte bound, dropping the oldest and counting them', async () => {
    const { peer, url } = await fakePeer(); // down: answers 503
    cleanup.push(() => peer.server?.close());
    const prefix = shared.prefix();
    const app = await relayingDispatcher('one server', prefix, url, { RELAY_OUTBOX_MAX_BYTES: '20000' });
    cleanup.push(() => app.close());
    const text = 'x'.repeat(1000);
    for (let n = 0; n < 100; n++) {
      const response = await publishTo(app, { topic: 'video:bound', type: 'comment', data: { n, text } });
      expect(response.statusCode).toBe(202);
    }
    const size = await shared.client().hgetall(`${prefix}:relay:eu:size`);
    expect(Number(size.bytes)).toBeLessThanOrEqual(20000);
    expect(Number(size.events)).toBe(await shared.client().xlen(`${prefix}:relay:eu`));
    const metrics = (
      await app.inject({ method: 'GET', url: '/metrics', headers: { authorization: `Bearer ${TOKEN}` } })
    ).body;
    const dropped = Number(/dispatcher_relay_dropped_total\{peer="eu"\} (\d+)/.exec(metrics)?.[1]);
    expect(dropped + Number(size.events)).toBe(100);
  });

  it('on a cluster, keeps all its slot outboxes together within the byte bound', async () => {
    const { peer, url } = await fakePeer(); // down: answers 503
    cleanup.push(() => peer.server?.close());
    const prefix = shared.prefix();
    const bound = 4 * 1024 * 1024;
    const app = await relayingDispatcher('cluster', prefix, url, { RELAY_OUTBOX_MAX_BYTES: String(bound) });
    cleanup.push(() => app.close());
    // 6 MB over 40 topics (many slots), round-robin.
    const text = 'x'.repeat(5000);
    for (let n = 0; n < 1200; n++) {
      const response = await publishTo(app, { topic: `video:bound-${n % 40}`, type: 'comment', data: { n, text } });
      expect(response.statusCode).toBe(202);
    }
    const client = shared.clusterClient();
    const slots = await client.zrange(`${prefix}:relay:eu:slots`, 0, -1);
    expect(slots.length).toBeGreaterThan(20);
    const sizes = await Promise.all(
      slots.map((slot) => client.hget(`${outboxKey(prefix, 'eu', Number(slot))}:size`, 'bytes')),
    );
    const total = sizes.reduce((sum, bytes) => sum + Number(bytes ?? 0), 0);
    expect(total).toBeGreaterThan(bound / 2);
    expect(total).toBeLessThanOrEqual(bound);
  });
});

describe('PEERS', () => {
  it('parses regions and their dispatcher URLs, leaving out this region, and refuses nonsense clearly', () => {
    const config = loadDispatcherConfig({
      REGION: 'us',
      PEERS: 'eu=http://e1:4000|http://e2:4000/, ap=http://a:4000,us=http://self:4000',
    });
    expect(config.peers).toEqual([
      { region: 'eu', urls: ['http://e1:4000', 'http://e2:4000'] },
      { region: 'ap', urls: ['http://a:4000'] },
    ]);
    expect(() => loadDispatcherConfig({ PEERS: 'eu=ftp://x' })).toThrow(/PEERS/);
    expect(() => loadDispatcherConfig({ PEERS: 'eu' })).toThrow(/PEERS/);
  });
});
