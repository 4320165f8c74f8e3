import { json, requireAccount, route } from '../../../../../lib/server/http';
import { reauthOptions } from '../../../../../lib/server/passkeys';

export const dynamic = 'force-dynamic';

/**
 * POST /api/auth/reauth/options → `{ ceremony, options }`: confirm the signed-in account's passkey
 * (asked before adding or removing passkeys and ending other sessions: 403 REAUTH_REQUIRED). The
 * browser's answer goes to POST /api/auth/reauth/verify.
 */
export const POST = route(async (request: Request) => {
  const { account } = await requireAccount(request, 'confirming your passkey');
  return json(await reauthOptions(request, account));
});
