import { type APIRequestContext, test as base, expect } from '@playwright/test';
import { signUpAccount } from './accounts.js';
import { StudioPage } from './pages/studio-page.js';
import { ViewerPage } from './pages/viewer-page.js';

export { signUpAccount } from './accounts.js';
export { control, nodeIndex, realtimeConnections, regionOf, topology } from './topology.js';

/** Seeds data through the public product API, as a signed-in account of its own. */
export class ProductApi {
  constructor(
    readonly request: APIRequestContext,
    private readonly origin: string,
  ) {}

  async signIn(name: string): Promise<{ id: string; name: string }> {
    return (await signUpAccount(this.request, this.origin, name)).user;
  }

  /** A new video of this user's, live. */
  async liveVideo(title: string): Promise<string> {
    const created = await this.request.post('/api/videos', { data: { title } });
    expect(created.status()).toBe(201);
    const { video } = (await created.json()) as { video: { id: string } };
    expect((await this.request.post(`/api/videos/${video.id}/start`)).status()).toBe(200);
    return video.id;
  }

  async comment(videoId: string, text: string): Promise<void> {
    const response = await this.request.post(`/api/videos/${videoId}/comments`, { data: { text } });
    expect(response.status(), await response.text()).toBe(201);
  }
}

export const test = base.extend<{
  /**
   * Opens the viewer page in a new browser context of the same device (another viewer); with
   * `node`, connected to that node (checked).
   */
  openViewer: (videoId: string, node?: number) => Promise<ViewerPage>;
  viewer: ViewerPage;
  studio: StudioPage;
  /** A signed-in API user of its own, for seeding. */
  api: ProductApi;
}>({
  viewer: async ({ page }, use, testInfo) => {
    await use(new ViewerPage(page, testInfo.project.use.hasTouch === true));
  },
  openViewer: async ({ browser }, use, testInfo) => {
    const contexts: Array<{ close(): Promise<void> }> = [];
    await use(async (videoId, node) => {
      const context = await browser.newContext({ ...testInfo.project.use });
      contexts.push(context);
      const viewer = new ViewerPage(await context.newPage(), testInfo.project.use.hasTouch === true);
      await viewer.goto(videoId, node);
      return viewer;
    });
    // (Closing a context a test closed already is a no-op.)
    for (const context of contexts) await context.close();
  },
  studio: async ({ page }, use) => {
    await use(new StudioPage(page));
  },
  api: async ({ playwright, baseURL }, use) => {
    const request = await playwright.request.newContext({ baseURL });
    const api = new ProductApi(request, new URL(baseURL ?? '').origin);
    await api.signIn('Seeder');
    await use(api);
    await request.dispose();
  },
});

export { expect };
