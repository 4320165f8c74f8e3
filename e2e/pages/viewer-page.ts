import { expect, type Locator, type Page } from '@playwright/test';
import { regionOf, topology } from '../topology.js';

/** The reactions by the names the page gives them. */
export type ReactionName = 'Like' | 'Celebrate' | 'Support' | 'Love' | 'Insightful' | 'Funny';

/** The viewer page (`/live/<id>`), by role and name. */
export class ViewerPage {
  readonly video: Locator;
  readonly comments: Locator;
  readonly likeButton: Locator;
  readonly moreReactions: Locator;
  /** The reaction picker (a toolbar), while open. */
  readonly picker: Locator;
  readonly composer: Locator;
  readonly sendButton: Locator;
  /** The reaction total with its words: "4 reactions: 3 Love, 1 Celebrate". */
  readonly reactionSummary: Locator;

  constructor(
    readonly page: Page,
    private readonly touch: boolean,
  ) {
    this.video = page.getByLabel('Live video');
    this.comments = page.getByRole('list', { name: 'Comments' });
    this.likeButton = page.getByRole('button', { name: 'Like', exact: true });
    this.moreReactions = page.getByRole('button', { name: 'More reactions' });
    this.picker = page.getByRole('toolbar', { name: 'Reactions' });
    this.reactionSummary = page.getByRole('img', { name: /^\d+ reactions?\b/ });
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

  /**
   * Sends one reaction: Like with its button; the others from the picker, opened (when it is not
   * yet) by a long press on Like on a touch screen, else by the "More reactions" button.
   */
  async react(reaction: ReactionName): Promise<void> {
    if (reaction === 'Like') return this.like();
    if (!(await this.picker.isVisible())) {
      if (this.touch) await this.longPress(this.likeButton);
      else await this.press(this.moreReactions);
    }
    await this.press(this.picker.getByRole('button', { name: reaction, exact: true }));
  }

  /** A touch held on `target` until the picker opens, then lifted (no click follows: no like). */
  async longPress(target: Locator): Promise<void> {
    await target.dispatchEvent('pointerdown', { pointerType: 'touch', isPrimary: true, bubbles: true });
    await expect(this.picker).toBeVisible();
    await target.dispatchEvent('pointerup', { pointerType: 'touch', isPrimary: true, bubbles: true });
  }

  /** The reaction totals as the page words them, e.g. `{ Love: 3, Celebrate: 1 }`. */
  async reactionCounts(): Promise<Partial<Record<ReactionName, number>>> {
    const label = (await this.reactionSummary.getAttribute('aria-label')) ?? '';
    const counts: Partial<Record<ReactionName, number>> = {};
    for (const [, n, name] of label.matchAll(/(\d+) (Like|Celebrate|Support|Love|Insightful|Funny)\b/g)) {
      counts[name as ReactionName] = Number(n);
    }
    return counts;
  }

  /** The floating icons of the viewer's own taps now on screen, of one reaction or all. */
  ownFloats(reaction?: string): Locator {
    return this.page
      .getByTestId('floating-reactions')
      .locator(`.float.own${reaction ? `[data-reaction="${reaction}"]` : ''}`);
  }

  /**
   * Starts counting the floating icons from now on (a MutationObserver in the page): read the
   * counts with the returned function — how many appeared, of which reactions, and the most on
   * screen at once.
   */
  async watchFloats(): Promise<() => Promise<{ added: number; most: number; now: number; reactions: string[] }>> {
    await this.page.getByTestId('floating-reactions').evaluate((layer) => {
      const seen = { added: 0, most: 0, reactions: [] as string[] };
      (window as unknown as { __floats: typeof seen }).__floats = seen;
      new MutationObserver((records) => {
        for (const record of records) {
          for (const node of record.addedNodes) {
            const reaction = (node as HTMLElement).dataset?.reaction;
            seen.added++;
            if (reaction && !seen.reactions.includes(reaction)) seen.reactions.push(reaction);
          }
        }
        seen.most = Math.max(seen.most, layer.childElementCount);
      }).observe(layer, { childList: true });
    });
    return () =>
      this.page.getByTestId('floating-reactions').evaluate((layer) => {
        const seen = (window as unknown as { __floats: { added: number; most: number; reactions: string[] } }).__floats;
        return { ...seen, reactions: [...seen.reactions].sort(), now: layer.childElementCount };
      });
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

  /** The like total (every reaction) or the viewer count, as the page words it for a screen reader. */
  count(label: 'Likes' | 'Viewers'): Promise<number> {
    const counter = label === 'Likes' ? this.reactionSummary : this.page.getByRole('img', { name: /^\d+ watching$/ });
    return counter.getAttribute('aria-label').then((text) => Number(text?.match(/\d+/)?.[0] ?? -1));
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
