import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  documentedRoutes,
  expectDocumentedAnswer,
  expectValidOpenApi,
  type OpenApiDocument,
  parameterValidator,
  requestValidator,
} from '../../../test-support/api-docs.js';
import { buildApp } from '../src/app.js';
import { loadDispatcherConfig } from '../src/config.js';

const TOKEN = 'dispatcher-openapi-token-123456';
const auth = { authorization: `Bearer ${TOKEN}` };

let app: FastifyInstance;
let document: OpenApiDocument;

beforeAll(async () => {
  app = await buildApp(loadDispatcherConfig({ INTERNAL_TOKEN: TOKEN, LOG_LEVEL: 'silent' }));
  await app.ready();
  const response = await app.inject({ method: 'GET', url: '/openapi.json' });
  expect(response.statusCode).toBe(200);
  expect(response.headers['content-type']).toMatch(/^application\/json/);
  document = response.json() as OpenApiDocument;
});

afterAll(async () => {
  await app.close();
});

/**
 * Every route the app registers, as `METHOD /openapi/{path}`, read from Fastify's route tree. HEAD
 * is left out: Fastify adds it to every GET by itself, and OpenAPI implies it.
 */
function registeredRoutes(instance: FastifyInstance): string[] {
  const routes: string[] = [];
  const prefixes: string[] = [];
  for (const line of instance.printRoutes({ commonPrefix: false }).split('\n')) {
    const match = /^([│ ]*)[├└]── (\S+) \(([A-Z, ]+)\)$/.exec(line);
    if (!match) continue;
    const depth = (match[1] as string).length / 4;
    prefixes.length = depth;
    const path = prefixes.join('') + (match[2] as string);
    prefixes.push(match[2] as string);
    for (const method of (match[3] as string).split(', ')) {
      if (method !== 'HEAD') routes.push(`${method} ${path.replace(/:([A-Za-z]+)/g, '{$1}')}`);
    }
  }
  return routes.sort();
}

const post = (url: string, payload: unknown, headers: Record<string, string> = auth) =>
  app.inject({
    method: 'POST',
    url,
    headers: { 'content-type': 'application/json', ...headers },
    payload: JSON.stringify(payload),
  });

describe('GET /openapi.json', () => {
  it('is a valid OpenAPI 3.1 document, readable without the token', async () => {
    await expectValidOpenApi(document);
    // Fails on a stub: the real routes are in it.
    expect(documentedRoutes(document)).toContain('POST /publish');
  });

  it('documents exactly the routes the app registers', () => {
    const registered = registeredRoutes(app);
    expect(registered.length).toBeGreaterThan(10);
    expect(documentedRoutes(document)).toEqual(registered);
  });

  it('documents the bodies POST /publish takes and refuses', async () => {
    const accepts = requestValidator(document, 'post', '/publish');
    const good = [
      { topic: 'video:1', type: 'comment', data: { text: 'hi' } },
      { topic: 'video:1', type: 'like', data: { count: 2 } },
      { events: [{ topic: 'video:2', type: 'comment', data: {}, key: 'k-1' }] },
    ];
    for (const body of good) {
      expect(accepts(body), JSON.stringify(body)).toBe(true);
      const response = await post('/publish', body);
      expect(response.statusCode, JSON.stringify(body)).toBe(202);
      expectDocumentedAnswer(document, 'post', '/publish', 202, response.json());
    }
    const bad = [
      { topic: 'bad topic', type: 'comment', data: {} },
      { topic: 'video:1', type: 'Comment', data: {} },
      { topic: 'video:1', type: 'comment' },
      { topic: 'video:1', type: 'comment', data: [1] },
      { events: [] },
      { events: Array.from({ length: 1001 }, () => ({ topic: 'video:1', type: 'comment', data: {} })) },
    ];
    for (const body of bad) {
      expect(accepts(body), JSON.stringify(body).slice(0, 80)).toBe(false);
      const response = await post('/publish', body);
      expect(response.statusCode, JSON.stringify(body).slice(0, 80)).toBe(400);
      expectDocumentedAnswer(document, 'post', '/publish', 400, response.json());
    }
  });

  it('documents the node messages the internal routes take and refuse', async () => {
    const accepts = requestValidator(document, 'post', '/internal/nodes/heartbeat');
    const beat = { nodeId: 'rt-openapi', url: 'http://127.0.0.1:1', counts: { 'video:1': 1 }, topics: 1 };
    expect(accepts(beat)).toBe(true);
    const taken = await post('/internal/nodes/heartbeat', beat);
    expect(taken.statusCode).toBe(200);
    expectDocumentedAnswer(document, 'post', '/internal/nodes/heartbeat', 200, taken.json());
    for (const bad of [
      { ...beat, nodeId: 'has space' },
      { ...beat, url: 'not a url' },
      { ...beat, topics: -1 },
    ]) {
      expect(accepts(bad), JSON.stringify(bad)).toBe(false);
      expect((await post('/internal/nodes/heartbeat', bad)).statusCode, JSON.stringify(bad)).toBe(400);
    }
    const refused = await post('/internal/nodes/heartbeat', beat, {});
    expect(refused.statusCode).toBe(401);
    expectDocumentedAnswer(document, 'post', '/internal/nodes/heartbeat', 401, refused.json());
  });

  it('documents the path parameters and answers of the public topic routes', async () => {
    const topic = parameterValidator(document, 'get', '/topics/{topic}/viewers', 'topic');
    expect(topic('video:1')).toBe(true);
    expect(topic('x'.repeat(129))).toBe(false);
    const viewers = await app.inject({ method: 'GET', url: '/topics/video:1/viewers' });
    expect(viewers.statusCode).toBe(200);
    expectDocumentedAnswer(document, 'get', '/topics/{topic}/viewers', 200, viewers.json());
    const tooLong = await app.inject({ method: 'GET', url: `/topics/${'x'.repeat(129)}/viewers` });
    expect(tooLong.statusCode).toBe(400);
    expectDocumentedAnswer(document, 'get', '/topics/{topic}/viewers', 400, tooLong.json());
    const latency = await app.inject({ method: 'GET', url: '/topics/video:1/latency' });
    expectDocumentedAnswer(document, 'get', '/topics/{topic}/latency', latency.statusCode, latency.json());
    for (const url of ['/livez', '/healthz']) {
      const probe = await app.inject({ method: 'GET', url });
      expectDocumentedAnswer(document, 'get', url, probe.statusCode, probe.json());
    }
  });
});
