import { type BrowserContext, expect, type Page } from '@playwright/test';
import { ViewerPage } from './viewer-page.js';

/**
 * Several tabs (pages) of one browser context on a video's viewer page, recording every SSE
 * connect (`GET <node>/connect`) the browser makes and which tab made it. A SharedWorker's
 * requests are not a tab's: they are counted with `page` undefined when Playwright reports them.
 */
export class ViewerTabs {
  readonly tabs: ViewerPage[] = [];
  readonly connects: Array<{ url: URL; page: Page | undefined }> = [];

  constructor(readonly context: BrowserContext) {
    context.on('request', (request) => {
      const url = new URL(request.url());
      if (url.pathname !== '/connect') return;
      let page: Page | undefined;
      try {
        page = request.frame().page();
      } catch {
        page = undefined; // a worker's request has no frame
      }
      this.connects.push({ url, page });
    });
  }

  /** Opens `count` more tabs on the video, one after another, each with its comments loaded. */
  async open(videoId: string, count: number): Promise<void> {
    for (let i = 0; i < count; i++) {
      const tab = new ViewerPage(await this.context.newPage(), false);
      await tab.goto(videoId);
      await tab.expectLoaded();
      this.tabs.push(tab);
    }
  }

  /** Every open tab shows its realtime connection open. */
  async expectAllOpen(): Promise<void> {
    for (const tab of this.tabs) await expect.poll(() => tab.connection()).toMatch(/^open http/);
  }

  /** Every open tab shows each of `texts` exactly once. */
  async expectComments(texts: readonly string[], timeout = 15_000): Promise<void> {
    for (const tab of this.tabs) {
      for (const text of texts) {
        await expect(tab.comments.getByText(text, { exact: true })).toHaveCount(1, { timeout });
      }
    }
  }

  /** The tab whose page made the latest connect (on the Web Locks path: the one holding the lock). */
  leader(): ViewerPage | undefined {
    const page = this.connects.at(-1)?.page;
    return this.tabs.find((tab) => tab.page === page);
  }

  /** Closes one tab (its page only: the browser and the other tabs stay). */
  async close(tab: ViewerPage): Promise<void> {
    this.tabs.splice(this.tabs.indexOf(tab), 1);
    await tab.page.close();
  }
}
