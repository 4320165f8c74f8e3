import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import * as videos from '../app/api/videos/route';
import { loadWebConfig } from '../lib/server/config';
import { context, createContext, setContext } from '../lib/server/context';
import { req, startServices, TOKEN } from './route-helpers';

/*
 * The home page's list under spam: 100 live videos, 30 list requests at once, against the route
 * handlers with a real dispatcher and node. Each list used to ask the dispatcher once per live
 * video (3,000 requests for this load); it now asks once per page.
 */

let services: Awaited<ReturnType<typeof startServices>>;

beforeAll(async () => {
  services = await startServices();
  setContext(createContext(loadWebConfig({ INTERNAL_TOKEN: TOKEN, DISPATCHER_URLS: services.dispatcherUrl })));
});

afterAll(async () => {
  setContext(undefined);
  await services.close();
});

describe('GET /api/videos under spam', () => {
  it('lists 100 live videos to 30 parallel requests quickly', async () => {
    const { store } = context();
    for (let i = 0; i < 100; i++) {
      await store.createVideo({
        title: `spam ${i}`,
        hlsUrl: '/demo/live.m3u8',
        ownerId: `spammer-${i}`,
        status: 'live',
      });
    }
    const list = async () => {
      const response = await videos.GET(req('/api/videos'));
      expect(response.status).toBe(200);
      return ((await response.json()) as { videos: unknown[] }).videos.length;
    };
    await list(); // warm: the demo video is created by the first list
    // Every request the web makes to the dispatcher while the 30 lists run.
    const realFetch = globalThis.fetch;
    let dispatcherCalls = 0;
    const spy = vi.spyOn(globalThis, 'fetch').mockImplementation((input, init) => {
      if (String(input instanceof Request ? input.url : input).startsWith(services.dispatcherUrl)) dispatcherCalls++;
      return realFetch(input, init);
    });
    const started = performance.now();
    const lengths = await Promise.all(Array.from({ length: 30 }, list));
    const ms = performance.now() - started;
    spy.mockRestore();
    console.log(
      `30 parallel lists of ${lengths[0]} videos (100 live): ${ms.toFixed(0)} ms, ${dispatcherCalls} dispatcher requests`,
    );
    expect(lengths.every((n) => n >= 100)).toBe(true);
    // One viewer-count request per list, not one per live video (that was 3,000 here).
    expect(dispatcherCalls).toBe(30);
    expect(ms).toBeLessThan(5000);
  });
});
