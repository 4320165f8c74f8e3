import { randomUUID } from 'node:crypto';
import { expect, type ProductApi, realtimeConnections, test } from '../fixtures.js';
import { ViewerTabs } from '../pages/viewer-tabs.js';

/*
 * One realtime connection per browser (issue 15, item 2): tabs of one origin share one SSE stream
 * (@ovation/client's connectShared) instead of one each — HTTP/1.1 allows six connections per
 * origin, so a seventh tab with a stream of its own would wait forever. Desktop only (the phone
 * projects ignore this file in playwright.config.ts): they run the same browser and would only
 * repeat it, at CI's expense.
 */

/**
 * Posts each comment (the API takes 1 comment a second per user: retried until accepted). Each
 * comment has an Idempotency-Key of its own, kept across its retries: a retry of an attempt that
 * was stored (its answer lost or late) answers the same comment instead of posting it twice.
 */
async function post(api: ProductApi, videoId: string, texts: string[]) {
  for (const text of texts) {
    const key = `e2e-tabs-${randomUUID()}`;
    await expect(async () => {
      const response = await api.request.post(`/api/videos/${videoId}/comments`, {
        data: { text },
        headers: { 'idempotency-key': key },
      });
      expect(response.status(), await response.text()).toBe(201);
    }).toPass({ timeout: 5_000 });
  }
}

test('eight tabs of one browser share one realtime connection, and every tab gets every comment', async ({
  browser,
  api,
}, testInfo) => {
  const videoId = await api.liveVideo(`Tabs ${Date.now()}`);
  const context = await browser.newContext({ ...testInfo.project.use });
  try {
    const browserTabs = new ViewerTabs(context);
    await browserTabs.open(videoId, 8);
    await browserTabs.expectAllOpen();
    // The video counts one viewer: each connection carries a guest token of its own, so eight
    // streams would count eight.
    for (const tab of browserTabs.tabs) await expect.poll(() => tab.count('Viewers')).toBe(1);
    // No tab connected by itself: Chromium has SharedWorker, and the worker holds the stream.
    expect(browserTabs.connects.filter((c) => c.page !== undefined)).toEqual([]);

    const stamp = Date.now();
    const texts = [1, 2, 3, 4].map((n) => `tab comment ${n} ${stamp}`);
    await post(api, videoId, texts);
    await browserTabs.expectComments(texts);

    // The nodes' own count: closing the browser closes exactly one connection.
    const open = await realtimeConnections();
    await context.close();
    await expect.poll(() => realtimeConnections()).toBe(open - 1);
    testInfo.annotations.push({
      type: 'connections',
      description: `8 tabs, ${texts.length} comments each; the nodes' gauge fell by 1 (${open} → ${open - 1}) when the browser closed`,
    });
  } finally {
    // (Closing a context closed already is a no-op.)
    await context.close();
  }
});

test('without SharedWorker one tab holds the connection (Web Locks); when it closes another takes over, with no gap', async ({
  browser,
  api,
}, testInfo) => {
  const videoId = await api.liveVideo(`Takeover ${Date.now()}`);
  const context = await browser.newContext({ ...testInfo.project.use });
  // The fallback of browsers without SharedWorker: leader election with navigator.locks and
  // fan-out over BroadcastChannel.
  await context.addInitScript(() => {
    delete (globalThis as { SharedWorker?: unknown }).SharedWorker;
    // The resyncs the tab holding the connection fans out (to tell one from any other reload).
    const resyncs: string[] = [];
    (globalThis as { __resyncs?: string[] }).__resyncs = resyncs;
    const post = BroadcastChannel.prototype.postMessage;
    BroadcastChannel.prototype.postMessage = function (this: BroadcastChannel, message: unknown) {
      if ((message as { t?: unknown } | null)?.t === 'resync') resyncs.push(JSON.stringify(message));
      return post.call(this, message);
    };
  });
  try {
    const browserTabs = new ViewerTabs(context);
    await browserTabs.open(videoId, 5);
    await browserTabs.expectAllOpen();
    expect(browserTabs.connects).toHaveLength(1);
    const leader = browserTabs.leader();
    expect(leader, 'the tab that connected is one of the tabs').toBeDefined();
    if (!leader) return;
    for (const tab of browserTabs.tabs) await expect.poll(() => tab.count('Viewers')).toBe(1);

    const stamp = Date.now();
    const before = [1, 2].map((n) => `before takeover ${n} ${stamp}`);
    await post(api, videoId, before);
    await browserTabs.expectComments(before);

    // The next connect waits until the comments of the gap are stored and published: they can only
    // reach the tabs by the node replaying them after the resume point.
    let openGate = () => {};
    const gate = new Promise<void>((resolve) => {
      openGate = resolve;
    });
    await context.route(
      (url) => url.pathname === '/connect',
      async (route) => {
        await gate;
        await route.continue();
      },
    );
    // From the takeover on, no tab may load the comments again (a resync reloads them): the gap
    // must arrive by the node replaying it after the right resume point, or the test would pass
    // with a wrong one.
    const commentLoads: string[] = [];
    for (const tab of browserTabs.tabs) {
      if (tab === leader) continue;
      tab.page.on('request', (request) => {
        const url = new URL(request.url());
        if (request.method() === 'GET' && url.pathname === `/api/videos/${videoId}/comments`) {
          commentLoads.push(url.toString());
        }
      });
    }
    await browserTabs.close(leader);
    const after = [1, 2, 3].map((n) => `after takeover ${n} ${stamp}`);
    await post(api, videoId, after);
    await expect.poll(() => browserTabs.connects.length, { message: 'another tab connects' }).toBe(2);
    openGate();

    const takeover = browserTabs.connects.at(-1);
    expect(takeover?.page).not.toBe(leader.page);
    expect(browserTabs.tabs.map((t) => t.page)).toContain(takeover?.page);
    // It resumed from the last event id it had seen, and the node replayed the gap.
    expect(takeover?.url.searchParams.get('lastEventId')).toBeTruthy();
    // On the node the stream was on: the resume points are ids of its region (another would resync).
    expect(takeover?.url.host).toBe(browserTabs.connects[0]?.url.host);
    await browserTabs.expectComments([...before, ...after]);
    await browserTabs.expectAllOpen();
    expect(browserTabs.connects).toHaveLength(2);
    const resyncs = await Promise.all(
      browserTabs.tabs.map((tab) => tab.page.evaluate(() => (globalThis as { __resyncs?: string[] }).__resyncs ?? [])),
    );
    expect(
      commentLoads,
      `no tab reloaded the comments after the takeover (resyncs: ${JSON.stringify(resyncs.flat())}, resumed on ${takeover?.url.host} from ${takeover?.url.searchParams.get('lastEventId')})`,
    ).toEqual([]);
  } finally {
    await context.close();
  }
});
