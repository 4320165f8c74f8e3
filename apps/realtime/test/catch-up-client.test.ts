import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { TCatchUpRequest, TTopicCatchUp } from '@ovation/shared';
import { afterEach, describe, expect, it } from 'vitest';
import { CatchUpClient } from '../src/catch-up/catch-up-client.js';
import { DispatcherClient } from '../src/dispatcher-client.js';

/*
 * A node reading 10,000 topics at once (after a store loss every topic is probed) sends them in
 * requests of 1,000 — at most two at a time, so its heartbeat never queues behind ten reads.
 */

const closers: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const close of closers.splice(0)) await close();
});

/** Plays the dispatcher's POST /internal/catch-up; counts the requests in flight at once. */
async function fakeTier() {
  const seen = { requests: 0, inFlight: 0, maxInFlight: 0 };
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk: Buffer) => {
      body += chunk.toString();
    });
    req.on('end', () => {
      seen.requests++;
      seen.inFlight++;
      seen.maxInFlight = Math.max(seen.maxInFlight, seen.inFlight);
      const asked = JSON.parse(body) as TCatchUpRequest;
      const topics: TTopicCatchUp[] = asked.topics.map(({ topic }) => ({
        topic,
        epoch: 'abcd1234',
        pos: 0,
        trimmedThrough: 0,
        maxAgeMs: 600_000,
        region: 'local',
        viewers: 1,
        likes: 0,
        events: [],
      }));
      setTimeout(() => {
        seen.inFlight--;
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ topics }));
      }, 20);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  closers.push(() => new Promise((resolve) => server.close(() => resolve())));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, seen };
}

describe('catch-up reads', () => {
  it('go in requests of 1,000 topics, at most two in flight', async () => {
    const tier = await fakeTier();
    const client = new DispatcherClient([tier.url], 'test-token');
    closers.push(() => client.close());
    const topics = Array.from({ length: 10_000 }, (_, i) => `video:${i}`);
    const results = await new CatchUpClient(client).fetch(topics, undefined);
    expect(results.size).toBe(10_000);
    expect(tier.seen.requests).toBe(10);
    expect(tier.seen.maxInFlight).toBe(2);
  });
});
