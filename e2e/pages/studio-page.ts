import { expect, type Locator, type Page } from '@playwright/test';
import { signUpAccount } from '../accounts.js';

/** "Watching now" as shown at one moment: the total and its split by region. */
export interface Watching {
  total: number;
  byRegion: Record<string, number>;
}

/** The broadcaster's studio (`/studio`, `/studio/<id>`), by role and name. */
export class StudioPage {
  readonly viewers: Locator;
  readonly moderation: Locator;
  readonly figures: Locator;
  /** The moderation log: recent comments, and the ones deleted from here (marked). */
  readonly log: Locator;
  readonly confirmDelete: Locator;
  /** Who is watching: signed-in viewers by name, with Ban, and the counts. */
  readonly watchingPanel: Locator;

  constructor(readonly page: Page) {
    this.viewers = page.getByRole('status', { name: 'Viewers' });
    this.moderation = page.getByRole('region', { name: 'Moderation' });
    this.figures = page.getByRole('region', { name: 'Live figures' });
    this.log = this.moderation.getByRole('list', { name: 'Recent comments' });
    this.confirmDelete = page.getByRole('alertdialog', { name: 'Delete this comment?' });
    this.watchingPanel = page.getByRole('region', { name: 'Watching', exact: true });
    // "End … for every viewer?" is confirmed.
    page.on('dialog', (dialog) => void dialog.accept());
  }

  async open(): Promise<void> {
    await this.page.goto('/studio');
  }

  /**
   * Signs this browser up as a broadcaster account named `name` (broadcasting needs one), through
   * the API with a software passkey, and shows the studio signed in. The dialog's own passkey flow
   * is tests/passkeys.spec.ts's.
   */
  async signIn(name: string): Promise<void> {
    await expect(this.page.getByRole('button', { name: 'Sign in' })).toBeVisible();
    await signUpAccount(this.page.request, new URL(this.page.url()).origin, name);
    await this.page.reload();
    await expect(this.page.getByText(`Signed in as ${name}`)).toBeVisible();
  }

  /** Creates a video, takes it live and opens its dashboard; returns its id. */
  async goLive(title: string): Promise<string> {
    await this.page.getByLabel('Title').fill(title);
    await this.page.getByRole('button', { name: 'Create live video' }).click();
    await this.page.getByRole('button', { name: `Go live with ${title}` }).click();
    await expect(this.page.getByRole('button', { name: `End live video ${title}` })).toBeVisible();
    await this.page.getByRole('link', { name: `Dashboard for ${title}` }).click();
    await this.page.waitForURL(/\/studio\/[A-Za-z0-9_-]+$/);
    await expect(this.page.getByRole('heading', { level: 1, name: title })).toBeVisible();
    return new URL(this.page.url()).pathname.split('/').pop() as string;
  }

  viewerCount(): Promise<number> {
    return this.viewers.textContent().then((text) => Number(text));
  }

  /** "Watching now" and its regions, read together (one snapshot of the tile's accessibility tree). */
  async watching(): Promise<Watching> {
    const tree = await this.page.getByRole('region', { name: 'Watching now' }).ariaSnapshot();
    const [, total = 'NaN'] = /status "Viewers": "?(\d+)/.exec(tree) ?? [];
    const regions = [...tree.matchAll(/listitem: "?([\w-]+): (\d+)/g)];
    return { total: Number(total), byRegion: Object.fromEntries(regions.map((m) => [m[1], Number(m[2])])) };
  }

  /** A viewer's entry in the Watching panel, by name. */
  watcher(name: string): Locator {
    return this.watchingPanel.getByRole('listitem').filter({ hasText: name });
  }

  deleteButton(text: string): Locator {
    return this.page.getByRole('button', { name: `Delete comment “${text}”` });
  }

  /** Deletes a comment: Delete, then the confirmation's "Delete comment". */
  async deleteComment(text: string): Promise<void> {
    await this.deleteButton(text).click();
    await expect(this.confirmDelete).toBeVisible();
    await this.confirmDelete.getByRole('button', { name: 'Delete comment' }).click();
    await expect(this.confirmDelete).toBeHidden();
    await expect(this.logEntry(text)).toContainText('Deleted');
  }

  /** The log's entry of a comment (deleted or not). */
  logEntry(text: string): Locator {
    return this.log.getByRole('listitem').filter({ hasText: text });
  }

  /** Bans a commenter from the log's entry of one of their comments (`comment`), or the first one. */
  async ban(name: string, comment?: string): Promise<void> {
    const scope = comment === undefined ? this.log : this.logEntry(comment);
    await scope
      .getByRole('button', { name: `Ban ${name}` })
      .first()
      .click();
    await expect(this.page.getByRole('list', { name: 'Banned users' }).getByText(name)).toBeVisible();
  }

  async end(title: string): Promise<void> {
    await this.page.getByRole('button', { name: `End live video ${title}` }).click();
  }
}
