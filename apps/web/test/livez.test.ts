import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../../test-support/ports.js';
import * as healthz from '../app/healthz/route';
import * as livez from '../app/livez/route';
import { loadWebConfig } from '../lib/server/config';
import { createContext, setContext } from '../lib/server/context';
import { createRedisClient } from '../lib/server/redis-client';
import { crossSiteRefusal } from '../proxy';
import { TOKEN } from './route-helpers';

/*
 * GET /livez is liveness: the web answers it whatever its dependencies do, where /healthz
 * (readiness) names the store and the dispatcher tier when they are down.
 */

let client: ReturnType<typeof createRedisClient>;

beforeAll(async () => {
  // Nothing listens on either port: the store and every dispatcher are down.
  const [redisPort, dispatcherPort] = await Promise.all([freePort(), freePort()]);
  const config = loadWebConfig({
    INTERNAL_TOKEN: TOKEN,
    REDIS_URL: `redis://127.0.0.1:${redisPort}`,
    DISPATCHER_URLS: `http://127.0.0.1:${dispatcherPort}`,
  });
  if (!config.redis) throw new Error('expected a Redis target');
  client = createRedisClient(config.redis);
  setContext(createContext(config, client));
});

afterAll(() => {
  setContext(undefined);
  client.redis.disconnect();
});

describe('GET /livez', () => {
  it('answers 200 alive while the store and the dispatchers are down, when /healthz answers 503', async () => {
    const health = await healthz.GET();
    expect(health.status).toBe(503);
    expect(await health.json()).toMatchObject({
      status: 'degraded',
      checks: { redis: { ok: false }, dispatcher: { ok: false } },
    });

    const live = livez.GET();
    expect(live.status).toBe(200);
    expect(live.headers.get('content-type')).toMatch(/^application\/json/);
    expect(await live.json()).toEqual({ status: 'alive' });
  });

  it('passes the proxy as any read does, from any origin and without a session', () => {
    const crossSite: Record<string, string> = { origin: 'https://elsewhere.example', 'sec-fetch-site': 'cross-site' };
    for (const headers of [{}, crossSite]) {
      const request = new Request('http://web.test/livez', { headers });
      expect(crossSiteRefusal(request, ['https://ovation.example'])).toBeUndefined();
    }
    // The same check does refuse a cross-site write: the assertion above can fail.
    const write = new Request('http://web.test/livez', {
      method: 'POST',
      headers: { origin: 'https://elsewhere.example' },
    });
    expect(crossSiteRefusal(write, ['https://ovation.example'])?.status).toBe(403);
  });
});
