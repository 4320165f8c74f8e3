import { SignInVerifyRequestSchema } from '@ovation/shared';
import { json, readBody, requireAccount, route } from '../../../../../lib/server/http';
import { reauth } from '../../../../../lib/server/passkeys';

export const dynamic = 'force-dynamic';

/**
 * POST /api/auth/reauth/verify `{ ceremony, credential }` → `{ confirmedAt }`: one of the account's
 * passkeys answered; for the next 10 minutes this session may change the account's passkeys and
 * end its other sessions.
 */
export const POST = route(async (request: Request) => {
  const { session } = await requireAccount(request, 'confirming your passkey');
  const { ceremony, credential } = await readBody(request, SignInVerifyRequestSchema);
  return json(await reauth(session, ceremony, credential));
});
