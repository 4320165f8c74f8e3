import { expect, type Locator, type Page } from '@playwright/test';
import { regionOf, topology } from '../topology.js';

/** The viewer page (`/live/<id>`), by role and name. */
export class ViewerPage {
  readonly video: Locator;
  readonly comments: Locator;
  readonly likeButton: Locator;
  readonly composer: Locator;
  readonly sendButton: Locator;

  constructor(
    readonly page: Page,
    private readonly touch: boolean,
  ) {
    this.video = page.getByLabel('Live video');
    this.comments = page.getByRole('list', { name: 'Comments' });
    this.likeButton = page.getByRole('button', { name: 'Like' });
    this.composer = page.getByRole('textbox', { name: 'Add a comment' });
    this.sendButton = page.getByRole('button', { name: 'Send' });
  }

  /**
   * Opens a video; `node` (an index into the realtime URLs) picks the node it connects to first,
   * and the page is checked to be connected there: a test that says where its viewer is, is right.
   */
  async goto(videoId: string, node?: number): Promise<void> {
    await this.page.goto(`/live/${videoId}${node === undefined ? '' : `?node=${node}`}`);
    await expect(this.video).toBeVisible();
    if (node !== undefined) await this.expectOn(node);
  }

  /** The page's realtime connection is open, on this node (an index into the realtime URLs). */
  async expectOn(node: number): Promise<void> {
    const url = topology.realtimeUrls[node];
    await expect
      .poll(() => this.connection(), { message: `viewer on node ${node} (${url}, region ${regionOf(node)})` })
      .toBe(`open ${url}`);
  }

  /**
   * The comment history has loaded (the feed is no longer busy): only then does a comment's
   * absence mean anything.
   */
  async expectLoaded(): Promise<void> {
    await expect(this.comments).toHaveAttribute('aria-busy', 'false');
  }

  /** Leaves: closes this viewer's browser context. */
  async close(): Promise<void> {
    await this.page.context().close();
  }

  /** Taps on touch devices, clicks elsewhere. */
  async press(target: Locator): Promise<void> {
    if (this.touch) await target.tap();
    else await target.click();
  }

  async like(): Promise<void> {
    await this.press(this.likeButton);
  }

  async comment(text: string): Promise<void> {
    await this.composer.fill(text);
    await this.press(this.sendButton);
  }

  /** Answers the display-name dialog (asked on the first like or comment of a signed-out viewer). */
  async signIn(name: string): Promise<void> {
    const dialog = this.page.getByRole('dialog', { name: 'Choose a display name' });
    await dialog.getByLabel('Display name').fill(name);
    await this.press(dialog.getByRole('button', { name: 'Continue' }));
  }

  count(label: 'Likes' | 'Viewers'): Promise<number> {
    return this.page
      .getByRole('status', { name: label })
      .textContent()
      .then((text) => Number(text?.match(/\d+/)?.[0] ?? -1));
  }

  currentTime(): Promise<number> {
    return this.video.evaluate((v: HTMLVideoElement) => v.currentTime);
  }

  /** The realtime client's state and node as the page shows them: `open <node URL>`, … */
  async connection(): Promise<string> {
    const viewer = this.page.locator('.viewer');
    return `${await viewer.getAttribute('data-connection')} ${await viewer.getAttribute('data-node')}`;
  }

  async noHorizontalScroll(): Promise<boolean> {
    return this.page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth);
  }
}
