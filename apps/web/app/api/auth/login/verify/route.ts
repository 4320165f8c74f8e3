import { SignInVerifyRequestSchema } from '@ovation/shared';
import { currentSession, readBody, route } from '../../../../../lib/server/http';
import { signIn } from '../../../../../lib/server/passkeys';

export const dynamic = 'force-dynamic';

/**
 * POST /api/auth/login/verify `{ ceremony, credential }` → `{ user, account }` and a new session
 * cookie of the account (the session the request came with is signed out). Errors: 401 for a passkey not registered here or whose signature fails;
 * 400 for a ceremony expired or used.
 */
export const POST = route(async (request: Request) => {
  const { ceremony, credential } = await readBody(request, SignInVerifyRequestSchema);
  return signIn(request, await currentSession(request), ceremony, credential);
});
