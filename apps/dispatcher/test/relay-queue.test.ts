import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Agent } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import { waitFor } from '../../../test-support/poll.js';
import { loadDispatcherConfig } from '../src/config.js';
import { createDispatcherMetrics } from '../src/metrics.js';
import { RelayQueue } from '../src/relay/relay-queue.js';

/** A peer that answers 503 while `down`, and records the events it took. */
async function fakePeer() {
  const peer = { down: true, received: [] as number[], requests: 0, server: undefined as Server | undefined };
  peer.server = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk) => {
      body += chunk;
    });
    req.on('end', () => {
      peer.requests++;
      if (peer.down) {
        res.writeHead(503).end();
        return;
      }
      for (const e of (JSON.parse(body) as { events: Array<{ n: number }> }).events) peer.received.push(e.n);
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"accepted":1,"duplicates":0}');
    });
  });
  await new Promise<void>((resolve) => peer.server?.listen(0, '127.0.0.1', resolve));
  return { peer, url: `http://127.0.0.1:${(peer.server.address() as AddressInfo).port}` };
}

let cleanup: Array<() => unknown> = [];
afterEach(async () => {
  for (const c of cleanup) await c();
  cleanup = [];
});

describe('RelayQueue', () => {
  it('keeps the most recent events while the peer is down, counts the dropped ones, drains in order when back', async () => {
    const { peer, url } = await fakePeer();
    const agent = new Agent();
    const metrics = createDispatcherMetrics();
    const queue = new RelayQueue(
      { region: 'eu', urls: [url] },
      { token: 't', agent, metrics, maxQueued: 50, random: () => 0.5 },
    );
    cleanup.push(
      () => queue.close(),
      () => agent.close(),
      () => peer.server?.close(),
    );

    queue.enqueue(Array.from({ length: 80 }, (_, n) => JSON.stringify({ n })));
    // A batch is out of the queue while its request is in flight: wait until it is back.
    await waitFor(
      'a few failed attempts (backoff), the batch back in the queue',
      () => peer.requests >= 3 && queue.size === 50,
    );
    expect((await metrics.relayDropped.get()).values[0]?.value).toBe(30);
    peer.down = false;
    queue.enqueue([JSON.stringify({ n: 80 })]);
    await waitFor('the queue to drain', () => queue.size === 0 && peer.received.length === 50, { timeoutMs: 15_000 });
    // The bound held: 31 … 80 (the newest 50) went, in order; 0 … 30 were dropped and counted.
    expect(peer.received).toEqual(Array.from({ length: 50 }, (_, i) => 31 + i));
    expect((await metrics.relayDropped.get()).values[0]?.value).toBe(31);
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
