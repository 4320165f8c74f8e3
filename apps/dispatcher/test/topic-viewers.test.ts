import { installErrorHandling, requireInternalToken } from '@ovation/shared/server';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MemoryRegistry } from '../src/registry/memory-registry.js';
import { topicRoutes } from '../src/routes/topics.js';

/*
 * POST /topics/viewers sums each topic over regions exactly as GET /topics/:topic/viewers does:
 * this region's nodes plus every other region's current report.
 */

const TOKEN = 'topic-viewers-test-token-123456';
const auth = { authorization: `Bearer ${TOKEN}` };
let app: FastifyInstance;

beforeAll(async () => {
  const registry = new MemoryRegistry();
  const node = { nodeId: 'n1', url: 'http://127.0.0.1:1' };
  await registry.syncTopics(node, 's1', { 'video:a': 2, 'video:b': 1 }, true, 60_000);
  await registry.setRegionCounts('eu', { 'video:a': 3, 'video:c': 4 }, 60_000);
  await registry.setRegionCounts('ap', { 'video:a': 1 }, 60_000);
  app = Fastify();
  installErrorHandling(app);
  topicRoutes(app, { registry, region: 'us', auth: requireInternalToken(TOKEN) });
  await app.ready();
});

afterAll(() => app.close());

describe('POST /topics/viewers', () => {
  it('answers every topic with the same region sum as the one-topic route', async () => {
    const topics = ['video:a', 'video:b', 'video:c', 'video:none'];
    const batch = await app.inject({ method: 'POST', url: '/topics/viewers', headers: auth, payload: { topics } });
    expect(batch.json()).toEqual({ counts: { 'video:a': 6, 'video:b': 1, 'video:c': 4, 'video:none': 0 } });
    for (const topic of topics) {
      const one = await app.inject({ method: 'GET', url: `/topics/${topic}/viewers` });
      expect(one.json().count).toBe(batch.json().counts[topic]);
    }
  });

  it('requires the internal token', async () => {
    const response = await app.inject({ method: 'POST', url: '/topics/viewers', payload: { topics: ['video:a'] } });
    expect(response.statusCode).toBe(401);
  });
});
