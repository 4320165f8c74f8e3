import { readdirSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  documentedRoutes,
  expectDocumentedAnswer,
  expectValidOpenApi,
  type OpenApiDocument,
  parameterValidator,
  requestValidator,
} from '../../../test-support/api-docs.js';
import * as openapi from '../app/api/openapi.json/route';
import * as session from '../app/api/session/route';
import * as comments from '../app/api/videos/[id]/comments/route';
import * as likes from '../app/api/videos/[id]/likes/route';
import * as videos from '../app/api/videos/route';
import { loadWebConfig } from '../lib/server/config';
import { createContext, setContext } from '../lib/server/context';
import { params, req, signIn, signUp, startServices, TOKEN } from './route-helpers';

/*
 * GET /api/openapi.json: valid OpenAPI 3.1, one operation per exported handler of every route.ts
 * under app/api, and bodies and queries the routes take (or refuse) are taken (or refused) by the
 * documented schemas, the routes' answers fitting the documented ones.
 */

const API_DIR = fileURLToPath(new URL('../app/api', import.meta.url));
const METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'];

let services: Awaited<ReturnType<typeof startServices>>;
let document: OpenApiDocument;

beforeAll(async () => {
  services = await startServices();
  setContext(createContext(loadWebConfig({ INTERNAL_TOKEN: TOKEN, DISPATCHER_URLS: services.dispatcherUrl })));
  const response = await openapi.GET();
  expect(response.status).toBe(200);
  expect(response.headers.get('content-type')).toBe('application/json');
  document = (await response.json()) as OpenApiDocument;
});

afterAll(async () => {
  setContext(undefined);
  await services.close();
});

/** `POST /api/videos/{id}/likes` for each handler every route.ts under app/api exports. */
async function routeFiles(): Promise<string[]> {
  const found: string[] = [];
  const walk = async (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) await walk(path);
      else if (entry.name === 'route.ts') {
        const url = `/api/${relative(API_DIR, dir).split(sep).join('/')}`.replace(/\[([^\]]+)\]/g, '{$1}');
        const handlers = Object.keys((await import(path)) as Record<string, unknown>).filter((name) =>
          METHODS.includes(name),
        );
        expect(handlers.length, path).toBeGreaterThan(0);
        for (const method of handlers) found.push(`${method} ${url}`);
      }
    }
  };
  await walk(API_DIR);
  return found.sort();
}

describe('GET /api/openapi.json', () => {
  it('is a valid OpenAPI 3.1 document', async () => {
    await expectValidOpenApi(document);
    expect(documentedRoutes(document)).toContain('POST /api/videos/{id}/comments');
  });

  it('documents every route.ts under app/api, each with its methods, and nothing else', async () => {
    const files = await routeFiles();
    expect(files.length).toBeGreaterThan(15);
    expect(documentedRoutes(document)).toEqual(files);
  });

  it('documents the bodies POST /api/session takes and refuses', async () => {
    const accepts = requestValidator(document, 'post', '/api/session');
    expect(accepts({ name: 'Ann' })).toBe(true);
    const ok = await session.POST(req('/api/session', { method: 'POST', body: { name: 'Ann' } }));
    expect(ok.status).toBe(200);
    expectDocumentedAnswer(document, 'post', '/api/session', 200, await ok.json());
    for (const body of [{}, { name: 5 }, { name: 'x'.repeat(161) }]) {
      expect(accepts(body), JSON.stringify(body)).toBe(false);
      const refused = await session.POST(req('/api/session', { method: 'POST', body }));
      expect(refused.status, JSON.stringify(body)).toBe(400);
      expectDocumentedAnswer(document, 'post', '/api/session', 400, await refused.json());
    }
  });

  it('documents the bodies likes and videos take and refuse', async () => {
    const { cookie } = await signIn('Liker');
    const likeBody = requestValidator(document, 'post', '/api/videos/{id}/likes');
    const like = (body: unknown) =>
      likes.POST(req('/api/videos/demo/likes', { method: 'POST', body, cookie }), params({ id: 'demo' }));
    for (const body of [{}, { count: 3 }]) {
      expect(likeBody(body), JSON.stringify(body)).toBe(true);
      const taken = await like(body);
      expect(taken.status, JSON.stringify(body)).toBe(202);
      expectDocumentedAnswer(document, 'post', '/api/videos/{id}/likes', 202, await taken.json());
    }
    for (const body of [{ count: 0 }, { count: 21 }, { count: 1.5 }, { count: '2' }]) {
      expect(likeBody(body), JSON.stringify(body)).toBe(false);
      const refused = await like(body);
      expect(refused.status, JSON.stringify(body)).toBe(400);
      expectDocumentedAnswer(document, 'post', '/api/videos/{id}/likes', 400, await refused.json());
    }
    const signedOut = await likes.POST(
      req('/api/videos/demo/likes', { method: 'POST', body: {} }),
      params({ id: 'demo' }),
    );
    expectDocumentedAnswer(document, 'post', '/api/videos/{id}/likes', signedOut.status, await signedOut.json());
    expect(signedOut.status).toBe(401);

    // Videos are created by an account (a guest's is refused: ACCOUNT_REQUIRED).
    const broadcaster = (await signUp('Broadcaster')).cookie;
    const videoBody = requestValidator(document, 'post', '/api/videos');
    expect(videoBody({ title: 'My show' })).toBe(true);
    const created = await videos.POST(
      req('/api/videos', { method: 'POST', body: { title: 'My show' }, cookie: broadcaster }),
    );
    expect(created.status).toBe(201);
    expectDocumentedAnswer(document, 'post', '/api/videos', 201, await created.json());
    for (const body of [
      {},
      { title: 7 },
      { title: 'A show', hlsUrl: 7 },
      { title: 'A show', hlsUrl: 'x'.repeat(2049) },
    ]) {
      expect(videoBody(body), JSON.stringify(body).slice(0, 60)).toBe(false);
      const refused = await videos.POST(req('/api/videos', { method: 'POST', body, cookie: broadcaster }));
      expect(refused.status, JSON.stringify(body).slice(0, 60)).toBe(400);
    }
  });

  it('documents the query parameters the list routes take and refuse', async () => {
    const limit = parameterValidator(document, 'get', '/api/videos/{id}/comments', 'limit');
    expect(limit(50)).toBe(true);
    const listed = await comments.GET(req('/api/videos/demo/comments?limit=50'), params({ id: 'demo' }));
    expect(listed.status).toBe(200);
    expectDocumentedAnswer(document, 'get', '/api/videos/{id}/comments', 200, await listed.json());
    expect(limit(201)).toBe(false);
    const refused = await comments.GET(req('/api/videos/demo/comments?limit=201'), params({ id: 'demo' }));
    expect(refused.status).toBe(400);
    expectDocumentedAnswer(document, 'get', '/api/videos/{id}/comments', 400, await refused.json());

    const page = await videos.GET(req('/api/videos?limit=2'));
    expect(page.status).toBe(200);
    expectDocumentedAnswer(document, 'get', '/api/videos', 200, await page.json());
    const owner = parameterValidator(document, 'get', '/api/videos', 'owner');
    expect(owner('me')).toBe(true);
    expect(owner('you')).toBe(false);
    expect((await videos.GET(req('/api/videos?owner=you'))).status).toBe(400);
  });
});
