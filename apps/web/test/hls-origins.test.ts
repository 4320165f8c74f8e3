import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as videos from '../app/api/videos/route';
import { loadWebConfig } from '../lib/server/config';
import { createContext, setContext } from '../lib/server/context';
import { expectError, req, signUp } from './route-helpers';

/* HLS_ORIGINS: the pages' CSP lets media come from these only, so a video elsewhere is refused. */

beforeAll(() => {
  setContext(createContext(loadWebConfig({ HLS_ORIGINS: 'https://cdn.example' })));
});

afterAll(() => {
  setContext(undefined);
});

describe('POST /api/videos with HLS_ORIGINS set', () => {
  it('takes a stream on a listed origin and the bundled demo, refuses any other origin', async () => {
    const { cookie } = await signUp('Broadcaster');
    const create = (hlsUrl?: string) =>
      videos.POST(
        req('/api/videos', { method: 'POST', cookie, body: { title: 'Stream', ...(hlsUrl ? { hlsUrl } : {}) } }),
      );
    expect((await create('https://cdn.example/live/index.m3u8')).status).toBe(201);
    expect((await create()).status).toBe(201);
    const message = await expectError(await create('https://elsewhere.example/live.m3u8'), 400, 'VALIDATION_FAILED');
    expect(message).toMatch(/HLS_ORIGINS/);
  });
});
