import { Redis } from 'ioredis';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { waitFor } from '../../../test-support/poll.js';
import { TestRedis } from '../../../test-support/redis-server.js';
import * as comments from '../app/api/videos/[id]/comments/route';
import * as likes from '../app/api/videos/[id]/likes/route';
import * as video from '../app/api/videos/[id]/route';
import * as videos from '../app/api/videos/route';
import * as healthz from '../app/healthz/route';
import { loadWebConfig } from '../lib/server/config';
import { createContext, setContext } from '../lib/server/context';
import { createRedisClient } from '../lib/server/redis-client';
import { FaultProxy } from './fault-proxy';
import { expectError, params, req, signIn, startServices, TOKEN } from './route-helpers';

/*
 * The web tier in Redis mode while its dependencies fail: Redis killed, paused or restarted empty,
 * the dispatcher tier refusing. Answers are honest (503 UNAVAILABLE with Retry-After, a /healthz
 * naming what is down) and fast, and the web recovers by itself.
 */

/** What "fast" means for a refusal: well under a second (the Redis command timeout is 500 ms). */
const FAST_MS = 1000;

let services: Awaited<ReturnType<typeof startServices>>;
let proxy: FaultProxy;
let redis: TestRedis;
let client: ReturnType<typeof createRedisClient>;

beforeAll(async () => {
  services = await startServices();
  proxy = await FaultProxy.start(services.dispatcherUrl);
  redis = await TestRedis.start();
  client = createRedisClient({ kind: 'server', url: redis.url });
  setContext(
    createContext(
      loadWebConfig({
        INTERNAL_TOKEN: TOKEN,
        DISPATCHER_URLS: proxy.url,
        REDIS_URL: redis.url,
        REDIS_PREFIX: 'faults',
        LIKES_PER_SECOND: '20',
        COMMENTS_PER_SECOND: '20',
      }),
      client,
    ),
  );
});

afterAll(async () => {
  setContext(undefined);
  client.redis.disconnect();
  await proxy.close();
  await services.close();
  await redis.stop();
});

/** Redis up and the web's client connected to it again, the dispatcher tier accepting. */
async function healthy(): Promise<void> {
  proxy.down = false;
  await waitFor('the web to reach Redis', async () => (await healthz.GET()).status === 200);
}

async function timed<T>(call: () => Promise<T>): Promise<{ value: T; ms: number }> {
  const started = performance.now();
  const value = await call();
  return { value, ms: performance.now() - started };
}

type Health = { status: string; checks: Record<string, { ok: boolean; detail?: string }> };

describe('web tier under faults (Redis mode)', () => {
  beforeEach(healthy);

  it('is healthy when Redis and a dispatcher answer', async () => {
    const response = await healthz.GET();
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ status: 'ok', checks: { redis: { ok: true }, dispatcher: { ok: true } } });
  });

  it('answers 503 UNAVAILABLE with Retry-After at once when Redis is down, and /healthz names redis', async () => {
    const ann = await signIn('Ann');
    await redis.stop();
    try {
      const writes = {
        comment: () =>
          comments.POST(
            req('/api/videos/demo/comments', { method: 'POST', body: { text: 'hi' }, cookie: ann.cookie }),
            params({ id: 'demo' }),
          ),
        keyedComment: () =>
          comments.POST(
            req('/api/videos/demo/comments', {
              method: 'POST',
              body: { text: 'hi' },
              cookie: ann.cookie,
              headers: { 'idempotency-key': 'k1' },
            }),
            params({ id: 'demo' }),
          ),
        like: () =>
          likes.POST(
            req('/api/videos/demo/likes', { method: 'POST', body: { count: 1 }, cookie: ann.cookie }),
            params({ id: 'demo' }),
          ),
        list: () => videos.GET(req('/api/videos')),
        comments: () => comments.GET(req('/api/videos/demo/comments'), params({ id: 'demo' })),
      };
      for (const [name, call] of Object.entries(writes)) {
        const { value: response, ms } = await timed(call);
        expect([name, response.headers.get('retry-after')]).toEqual([name, '1']);
        await expectError(response, 503, 'UNAVAILABLE');
        expect(ms, `${name} took ${Math.round(ms)} ms`).toBeLessThan(FAST_MS);
      }
      const { value: response, ms } = await timed(() => healthz.GET());
      expect(ms).toBeLessThan(FAST_MS);
      expect(response.status).toBe(503);
      const body = (await response.json()) as Health;
      expect(body.status).toBe('degraded');
      expect(body.checks.redis?.ok).toBe(false);
      expect(body.checks.redis?.detail).toBe('PING failed: not connected');
      expect(body.checks.dispatcher).toEqual({ ok: true });
    } finally {
      await redis.restart();
    }
  });

  it('answers 503 within the command timeout when Redis is paused, and recovers when it resumes', async () => {
    const ann = await signIn('Ann');
    const admin = new Redis(redis.url);
    try {
      // CLIENT PAUSE ALL: Redis stops answering every client, as a stopped (SIGSTOP) server would.
      await admin.call('CLIENT', 'PAUSE', '1500', 'ALL');
      const { value: response, ms } = await timed(() =>
        comments.POST(
          req('/api/videos/demo/comments', { method: 'POST', body: { text: 'paused' }, cookie: ann.cookie }),
          params({ id: 'demo' }),
        ),
      );
      expect(ms, `took ${Math.round(ms)} ms`).toBeLessThan(FAST_MS);
      expect(response.headers.get('retry-after')).toBe('1');
      await expectError(response, 503, 'UNAVAILABLE');
      const health = await timed(() => healthz.GET());
      expect(health.ms).toBeLessThan(FAST_MS);
      expect(((await health.value.json()) as Health).checks.redis).toEqual({
        ok: false,
        // No answer — or, once the watchdog gave the silent connection up, a new one not ready yet.
        detail: expect.stringMatching(/^PING: no answer|^PING failed: not connected$/),
      });
    } finally {
      admin.disconnect();
    }
    // The pause ends by itself; then the web serves again without a restart.
    await waitFor('Redis to answer again', async () => (await healthz.GET()).status === 200);
    const after = await comments.POST(
      req('/api/videos/demo/comments', { method: 'POST', body: { text: 'after the pause' }, cookie: ann.cookie }),
      params({ id: 'demo' }),
    );
    expect(after.status).toBe(201);
  });

  it('brings the demo video back after Redis restarted empty', async () => {
    expect((await video.GET(req('/api/videos/demo'), params({ id: 'demo' }))).status).toBe(200);
    await redis.restart();
    const back = await waitFor('the demo video', async () => {
      const response = await video.GET(req('/api/videos/demo'), params({ id: 'demo' }));
      return response.status === 200 ? response : undefined;
    });
    expect(((await back.json()) as { video: unknown }).video).toMatchObject({ id: 'demo', status: 'live', likes: 0 });
    // The home page lists it too.
    await redis.restart();
    const listed = await waitFor('the video list', async () => {
      const response = await videos.GET(req('/api/videos'));
      return response.status === 200 ? response : undefined;
    });
    expect(((await listed.json()) as { videos: Array<{ id: string }> }).videos.map((v) => v.id)).toContain('demo');
  });

  it('/healthz names the dispatcher tier when no dispatcher answers', async () => {
    proxy.down = true;
    const { value: response, ms } = await timed(() => healthz.GET());
    expect(ms).toBeLessThan(FAST_MS);
    expect(response.status).toBe(503);
    const body = (await response.json()) as Health;
    expect(body.status).toBe('degraded');
    expect(body.checks.redis).toEqual({ ok: true });
    expect(body.checks.dispatcher?.ok).toBe(false);
    expect(body.checks.dispatcher?.detail).toContain('dispatcher 1: answered 503');
  });
});
