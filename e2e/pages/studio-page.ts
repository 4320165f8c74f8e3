import { expect, type Locator, type Page } from '@playwright/test';
import { signUpAccount } from '../accounts.js';

/** The broadcaster's studio (`/studio`, `/studio/<id>`), by role and name. */
export class StudioPage {
  readonly viewers: Locator;

  constructor(readonly page: Page) {
    this.viewers = page.getByRole('status', { name: 'Viewers' });
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

  async deleteComment(text: string): Promise<void> {
    await this.page.getByRole('button', { name: `Delete comment “${text}”` }).click();
  }

  async ban(name: string): Promise<void> {
    await this.page.getByRole('button', { name: `Ban ${name}` }).click();
    await expect(this.page.getByRole('list', { name: 'Banned users' }).getByText(name)).toBeVisible();
  }

  async end(title: string): Promise<void> {
    await this.page.getByRole('button', { name: `End live video ${title}` }).click();
  }
}
