import { RegisterVerifyRequestSchema } from '@ovation/shared';
import { currentSession, readBody, route } from '../../../../../lib/server/http';
import { register } from '../../../../../lib/server/passkeys';

export const dynamic = 'force-dynamic';

/**
 * POST /api/auth/register/verify `{ ceremony, credential }` → 201 `{ user, account }` and the
 * account's session cookie: the passkey is checked (user verified, this origin, the ceremony's
 * challenge, once) and the account made with it. Errors: 400 for a passkey refused or a ceremony
 * expired or used; 409 HANDLE_TAKEN when another sign-up took the handle meanwhile; 429 past 20
 * accounts a day per address.
 */
export const POST = route(async (request: Request) => {
  const { ceremony, credential } = await readBody(request, RegisterVerifyRequestSchema);
  return register(request, await currentSession(request), ceremony, credential);
});
