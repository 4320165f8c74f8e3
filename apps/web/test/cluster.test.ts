import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '../../../test-support/poll.js';
import { TestRedisCluster } from '../../../test-support/redis-cluster.js';
import * as likes from '../app/api/videos/[id]/likes/route';
import * as start from '../app/api/videos/[id]/start/route';
import * as videos from '../app/api/videos/route';
import * as healthz from '../app/healthz/route';
import { loadWebConfig } from '../lib/server/config';
import { createContext, setContext } from '../lib/server/context';
import { createRedisClient } from '../lib/server/redis-client';
import { expectError, params, req, signIn, signUp, startServices, TOKEN } from './route-helpers';

/*
 * The web tier on a Redis Cluster (REDIS_CLUSTER_NODES), as the process opens it: the rate limits
 * refuse past their budget, /healthz says whether every slot's master answers, and a master lost
 * to a crash is a 503 (never a hang) until its replica has taken over.
 */

const PREFIX = 'cluster-web';
let services: Awaited<ReturnType<typeof startServices>>;
let cluster: TestRedisCluster;
let client: ReturnType<typeof createRedisClient>;

beforeAll(async () => {
  [services, cluster] = await Promise.all([startServices(), TestRedisCluster.start()]);
  const config = loadWebConfig({
    INTERNAL_TOKEN: TOKEN,
    DISPATCHER_URLS: services.dispatcherUrl,
    REDIS_CLUSTER_NODES: cluster.seeds,
    REDIS_PREFIX: PREFIX,
    LIKES_PER_SECOND: '20',
    COMMENTS_PER_SECOND: '1',
  });
  expect(config.redis?.kind).toBe('cluster');
  if (!config.redis) throw new Error('expected a Redis target');
  client = createRedisClient(config.redis);
  setContext(createContext(config, client));
  await client.firstConnection;
});

afterAll(async () => {
  setContext(undefined);
  client.redis.disconnect();
  await services.close();
  await cluster.stop();
});

type Health = { status: string; checks: Record<string, { ok: boolean; detail?: string }> };

async function liveVideo(): Promise<string> {
  const owner = await signUp('Owner');
  const created = await videos.POST(
    req('/api/videos', { method: 'POST', body: { title: 'On a cluster' }, cookie: owner.cookie }),
  );
  expect(created.status).toBe(201);
  const { video } = (await created.json()) as { video: { id: string } };
  const started = await start.POST(
    req(`/api/videos/${video.id}/start`, { method: 'POST', cookie: owner.cookie }),
    params({ id: video.id }),
  );
  expect(started.status).toBe(200);
  return video.id;
}

const like = (id: string, cookie: string, count: number) =>
  likes.POST(req(`/api/videos/${id}/likes`, { method: 'POST', body: { count }, cookie }), params({ id }));

describe('web tier on a Redis Cluster', () => {
  it('is healthy when every master answers', async () => {
    const response = await healthz.GET();
    expect([response.status, await response.json()]).toEqual([
      200,
      { status: 'ok', checks: { redis: { ok: true }, dispatcher: { ok: true } } },
    ]);
  });

  it('lists a new video, counts likes and refuses a user past their like budget (429)', async () => {
    const id = await liveVideo();
    const listed = (await (await videos.GET(req('/api/videos'))).json()) as { videos: Array<{ id: string }> };
    expect(listed.videos.map((v) => v.id)).toContain(id);
    const fan = await signIn('Fan');
    expect(await (await like(id, fan.cookie, 20)).json()).toEqual({ total: 20, totals: { like: 20 } });
    // 20 a second: the user's budget is spent within this second (a refill would need a second).
    const refused = await like(id, fan.cookie, 20);
    await expectError(refused, 429, 'RATE_LIMITED');
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
  });

  it("answers 503 at once while a video's master is down, names redis in /healthz, and recovers after the failover", async () => {
    const id = await liveVideo();
    const fan = await signIn('Fan');
    const port = await cluster.masterPortOf(`${PREFIX}:{v:${id}}`);
    await cluster.kill(port);
    try {
      const started = performance.now();
      await expectError(await like(id, fan.cookie, 1), 503, 'UNAVAILABLE');
      expect(performance.now() - started).toBeLessThan(1000);
      const health = await healthz.GET();
      expect(health.status).toBe(503);
      const body = (await health.json()) as Health;
      expect([body.status, body.checks.redis?.ok, body.checks.dispatcher?.ok]).toEqual(['degraded', false, true]);
      await cluster.waitHealthy();
      await waitFor('the web to reach the new master', async () => (await healthz.GET()).status === 200, {
        timeoutMs: 20_000,
      });
      expect(await (await like(id, fan.cookie, 1)).json()).toEqual({ total: 1, totals: { like: 1 } });
    } finally {
      await cluster.restart(port);
      await cluster.waitHealthy();
    }
  });
});
