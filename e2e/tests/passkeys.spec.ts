import { randomBytes } from 'node:crypto';
import type { BrowserContext, CDPSession, Page, TestInfo } from '@playwright/test';
import { expect, test } from '../fixtures.js';
import { StudioPage } from '../pages/studio-page.js';
import { ViewerPage } from '../pages/viewer-page.js';

/*
 * Accounts with passkeys through the UI, with Chromium's virtual authenticator (CDP WebAuthn
 * domain): sign up, create a video, sign out; a new browser holding the same passkey signs in and
 * finds the video; another account cannot manage it. WebAuthn refuses IP-address origins, so these
 * pages are opened at http://localhost:<the web's port> (the stack serves 127.0.0.1).
 */

const localhost = () => {
  const web = new URL(process.env.OVATION_WEB_URL ?? '');
  return `http://localhost:${web.port}`;
};

/** A browser context at http://localhost with a platform authenticator (user verification, passkeys). */
async function browserWithAuthenticator(
  newContext: () => Promise<BrowserContext>,
): Promise<{ context: BrowserContext; page: Page; cdp: CDPSession; authenticatorId: string }> {
  const context = await newContext();
  const page = await context.newPage();
  const cdp = await context.newCDPSession(page);
  await cdp.send('WebAuthn.enable');
  const { authenticatorId } = await cdp.send('WebAuthn.addVirtualAuthenticator', {
    options: {
      protocol: 'ctap2',
      transport: 'internal',
      hasResidentKey: true,
      hasUserVerification: true,
      isUserVerified: true,
      automaticPresenceSimulation: true,
    },
  });
  return { context, page, cdp, authenticatorId };
}

async function signUpInDialog(page: Page, name: string, handle: string): Promise<void> {
  await page.getByRole('button', { name: 'Sign in' }).click();
  const dialog = page.getByRole('dialog', { name: 'Sign in to Ovation' });
  await dialog.getByLabel('Display name').fill(name);
  await dialog.getByLabel('Handle').fill(handle);
  await dialog.getByRole('button', { name: 'Create account' }).click();
  await expect(page.getByText(`Signed in as ${name}`)).toBeVisible();
  await expect(page.getByText(`@${handle}`)).toBeVisible();
}

const handleFor = (testInfo: TestInfo, who: string) =>
  `${who}_${testInfo.project.name.slice(0, 3)}_${randomBytes(3).toString('hex')}`;

test('sign up with a passkey, broadcast, sign out; the same passkey in a new browser signs in to the same videos; another account cannot manage them', async ({
  browser,
}, testInfo) => {
  const newContext = () => browser.newContext({ ...testInfo.project.use, baseURL: localhost() });
  const first = await browserWithAuthenticator(newContext);
  const contexts = [first.context];
  try {
    const name = `Caster ${testInfo.project.name}`;
    const handle = handleFor(testInfo, 'caster');
    const studio = new StudioPage(first.page);
    await studio.open();
    await signUpInDialog(first.page, name, handle);
    const title = `Passkey show ${testInfo.project.name} ${Date.now()}`;
    const videoId = await studio.goLive(title);
    // The dashboard's members-only switch is the video's setting.
    await first.page.getByRole('checkbox', { name: 'Members-only comments' }).check();
    await expect(first.page.getByRole('checkbox', { name: 'Members-only comments' })).toBeChecked();
    const { video } = (await (await first.page.request.get(`/api/videos/${videoId}`)).json()) as {
      video: { membersOnlyComments?: boolean };
    };
    expect(video.membersOnlyComments).toBe(true);

    // Sign out: the gate is back.
    await studio.open();
    await first.page.getByRole('button', { name: 'Sign out' }).click();
    await expect(first.page.getByRole('button', { name: 'Sign in' })).toBeVisible();

    // The passkey, as a password manager would sync it, into a new browser.
    const { credentials } = await first.cdp.send('WebAuthn.getCredentials', {
      authenticatorId: first.authenticatorId,
    });
    expect(credentials).toHaveLength(1);
    const second = await browserWithAuthenticator(newContext);
    contexts.push(second.context);
    for (const credential of credentials) {
      await second.cdp.send('WebAuthn.addCredential', {
        authenticatorId: second.authenticatorId,
        credential,
      });
    }
    const again = new StudioPage(second.page);
    await again.open();
    await second.page.getByRole('button', { name: 'Sign in' }).click();
    await second.page
      .getByRole('dialog', { name: 'Sign in to Ovation' })
      .getByRole('button', { name: 'Sign in with a passkey' })
      .click();
    await expect(second.page.getByText(`Signed in as ${name}`)).toBeVisible();
    await expect(second.page.getByRole('list', { name: 'Your videos' }).getByText(title)).toBeVisible();

    // The account page: one passkey, this browser's session (the first signed out).
    await second.page.getByRole('link', { name: 'Account' }).click();
    await expect(second.page.getByRole('list', { name: 'Your passkeys' }).getByRole('listitem')).toHaveCount(1);
    const sessions = second.page.getByRole('list', { name: 'Your sessions' }).getByRole('listitem');
    await expect(sessions).toHaveCount(1);
    await expect(sessions.getByText('This browser')).toBeVisible();

    // Another account, in its own browser: no studio for this video, and the API refuses it.
    const other = await browserWithAuthenticator(newContext);
    contexts.push(other.context);
    await other.page.goto(`/studio/${videoId}`);
    await signUpInDialog(other.page, `Other ${testInfo.project.name}`, handleFor(testInfo, 'other'));
    await expect(other.page.getByText('Only the broadcaster of this video can open its studio.')).toBeVisible();
    await expect(other.page.getByRole('button', { name: /End live video/ })).toHaveCount(0);
    const refused = await other.page.request.post(`/api/videos/${videoId}/end`, {
      headers: { origin: localhost() },
    });
    expect(refused.status()).toBe(403);
  } finally {
    for (const context of contexts) await context.close();
  }
});

test('members-only comments: a guest is asked for an account, keeps their identity creating one, and the comment goes through', async ({
  browser,
  api,
}, testInfo) => {
  const videoId = await api.liveVideo(`Members ${testInfo.project.name} ${Date.now()}`);
  const patched = await api.request.patch(`/api/videos/${videoId}`, { data: { membersOnlyComments: true } });
  expect(patched.status()).toBe(200);
  const { context, page } = await browserWithAuthenticator(() =>
    browser.newContext({ ...testInfo.project.use, baseURL: localhost() }),
  );
  try {
    const guestName = `Guest ${testInfo.project.name} ${Date.now() % 100000}`;
    const viewer = new ViewerPage(page, testInfo.project.use.hasTouch === true);
    await viewer.goto(videoId);
    await expect(page.getByText('Members-only comments: commenting needs an account.')).toBeVisible();
    const said = `as a member ${Date.now()}`;
    await viewer.comment(said);
    await viewer.signIn(guestName);
    // Signed in as a guest, the comment is refused: the sign-in dialog opens, offering their name.
    const dialog = page.getByRole('dialog', { name: 'Sign in to Ovation' });
    await expect(dialog.getByLabel('Display name')).toHaveValue(guestName);
    const guest = (await (await page.request.get('/api/session')).json()) as { user: { id: string } };
    await dialog.getByLabel('Handle').fill(handleFor(testInfo, 'member'));
    await dialog.getByRole('button', { name: 'Create account' }).click();
    await expect(viewer.comments.getByText(said)).toBeVisible();
    const account = (await (await page.request.get('/api/session')).json()) as {
      user: { id: string; name: string };
      account: { handle: string };
    };
    expect(account.user).toEqual({ id: guest.user.id, name: guestName });

    // The same identity may broadcast now.
    await page.goto('/studio');
    await expect(page.getByText(`Signed in as ${guestName}`)).toBeVisible();
    await expect(page.getByLabel('Title')).toBeVisible();
  } finally {
    await context.close();
  }
});
