import { RegisterOptionsRequestSchema } from '@ovation/shared';
import { currentSession, json, readBody, route } from '../../../../../lib/server/http';
import { registrationOptions } from '../../../../../lib/server/passkeys';

export const dynamic = 'force-dynamic';

/**
 * POST /api/auth/register/options `{ name, handle }` → `{ ceremony, options }`: a sign-up with a
 * passkey begins. `options` go to navigator.credentials.create() (SimpleWebAuthn's
 * startRegistration); its answer, with `ceremony`, to POST /api/auth/register/verify within 5
 * minutes. Signed in as a guest: that guest becomes the account (their videos stay theirs).
 * Errors: 409 HANDLE_TAKEN; 409 CONFLICT when signed in with an account already; 429 past 120
 * ceremonies an hour per address.
 */
export const POST = route(async (request: Request) => {
  const { name, handle } = await readBody(request, RegisterOptionsRequestSchema);
  return json(await registrationOptions(request, await currentSession(request), name, handle));
});
