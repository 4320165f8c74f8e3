import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FaultProxy } from '../../../faults/src/fault-proxy.js';
import { waitFor } from '../../../test-support/poll.js';
import { TestRedis } from '../../../test-support/redis-server.js';
import { buildApp } from '../src/app.js';
import { loadDispatcherConfig } from '../src/config.js';

/*
 * The dispatcher's link to Redis through a fault proxy. A black hole (packets vanish, nothing
 * closes) leaves a connection on which every command times out for as long as TCP keeps it:
 * the dispatcher must notice and connect again, not answer 503 until it is restarted.
 */

const TOKEN = 'redis-link-test-token-0123456789';
let redis: TestRedis;
let proxy: FaultProxy;

beforeAll(async () => {
  redis = await TestRedis.start();
  proxy = await FaultProxy.start({ name: 'dispatcher→redis', targets: [{ host: '127.0.0.1', port: redis.port }] });
});

afterAll(async () => {
  await proxy?.close();
  await redis?.stop();
});

describe('dispatcher → Redis link', () => {
  it('connects again after a black hole: publishes are accepted again within seconds', async () => {
    const app = await buildApp(
      loadDispatcherConfig({
        INTERNAL_TOKEN: TOKEN,
        LOG_LEVEL: 'silent',
        REDIS_URL: `redis://127.0.0.1:${proxy.port}`,
        REDIS_PREFIX: `link-${process.pid}`,
      }),
    );
    const status = async () =>
      (
        await app.inject({
          method: 'POST',
          url: '/publish',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${TOKEN}` },
          payload: { topic: 'video:link', type: 'comment', data: {} },
        })
      ).statusCode;
    try {
      await waitFor('the dispatcher to reach Redis', async () => (await status()) === 202);
      proxy.blackhole(1500);
      expect(await status()).toBe(503); // times out (2 s) inside the black hole
      const healedAt = Date.now() + 1500;
      await waitFor('publishes accepted again', async () => (await status()) === 202, {
        timeoutMs: 15_000,
        intervalMs: 250,
      });
      // The connection made before the black hole is dead for good: a new one was made.
      expect(Date.now() - healedAt).toBeLessThan(8000);
    } finally {
      await app.close();
    }
  }, 30_000);

  it('never runs a publish twice: a command whose answer was lost with its connection is not sent again', async () => {
    // ioredis sends a command again on the next connection when the first closed before its answer
    // (autoResendUnfulfilledCommands): the accept script ran once already, and a like without an
    // Idempotency-Key would count twice. Refused instead: the publisher gets 503 and decides.
    const prefix = `once-${process.pid}`;
    const app = await buildApp(
      loadDispatcherConfig({
        INTERNAL_TOKEN: TOKEN,
        LOG_LEVEL: 'silent',
        REDIS_URL: `redis://127.0.0.1:${proxy.port}`,
        REDIS_PREFIX: prefix,
      }),
    );
    const like = () =>
      app.inject({
        method: 'POST',
        url: '/publish',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${TOKEN}` },
        payload: { topic: 'video:once', type: 'like', data: { count: 1 } },
      });
    const client = redis.client();
    const likes = async () => Number((await client.hget(`${prefix}:topic:{video:once}:log`, 'likes')) ?? 0);
    try {
      await waitFor('the dispatcher to reach Redis', async () => (await like()).statusCode === 202);
      expect(await likes()).toBe(1);
      // The request reaches Redis after 400 ms and runs; its answer is still on the way back when
      // the connection is reset (the PING watchdog, 1 s, does not step in at 800 ms round trips).
      proxy.latency(400);
      const pending = like();
      await new Promise((resolve) => setTimeout(resolve, 600));
      proxy.reset();
      proxy.latency(0);
      // Answered once the command settled: sent again and answered, or failed (503).
      const answer = await pending;
      expect([202, 503]).toContain(answer.statusCode);
      expect(await likes()).toBe(2); // the first like, and this one run once
    } finally {
      proxy.heal();
      client.disconnect();
      await app.close();
    }
  }, 30_000);
});
