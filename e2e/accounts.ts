import { randomBytes } from 'node:crypto';
import { type CreationOptions, SoftwarePasskey } from '@ovation/shared/software-passkey';
import { type APIRequestContext, expect } from '@playwright/test';

/**
 * Signs an account up in `request`'s cookie jar (an API context's, or a page's: then its browser
 * is signed in) with a software passkey (@ovation/shared/software-passkey): the same ceremony a
 * browser's authenticator answers. The passkey flow through the UI, with Chromium's virtual
 * authenticator, is tests/passkeys.spec.ts's.
 */
export async function signUpAccount(
  request: APIRequestContext,
  origin: string,
  name: string,
): Promise<{ user: { id: string; name: string }; passkey: SoftwarePasskey }> {
  const handle = `e2e_${randomBytes(6).toString('hex')}`;
  const passkey = new SoftwarePasskey(new URL(origin).hostname);
  const headers = { origin };
  const begun = await request.post('/api/auth/register/options', { data: { name, handle }, headers });
  expect(begun.status(), await begun.text()).toBe(200);
  const { ceremony, options } = (await begun.json()) as { ceremony: string; options: CreationOptions };
  const done = await request.post('/api/auth/register/verify', {
    data: { ceremony, credential: passkey.register(options, origin) },
    headers,
  });
  expect(done.status(), await done.text()).toBe(201);
  return { user: ((await done.json()) as { user: { id: string; name: string } }).user, passkey };
}
