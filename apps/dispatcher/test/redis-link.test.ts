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
});
