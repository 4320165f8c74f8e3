import { json, requireRecentPasskey, route } from '../../../../../lib/server/http';
import { addPasskeyOptions } from '../../../../../lib/server/passkeys';

export const dynamic = 'force-dynamic';

/**
 * POST /api/account/passkeys/options → `{ ceremony, options }`: one more passkey for the account
 * (another device or password manager), its answer to POST /api/account/passkeys/verify. Needs a
 * passkey checked in this session in the last 10 minutes (403 REAUTH_REQUIRED: confirm with
 * POST /api/auth/reauth/options and …/verify).
 */
export const POST = route(async (request: Request) => {
  const { account } = await requireRecentPasskey(request, 'adding a passkey');
  return json(await addPasskeyOptions(request, account));
});
