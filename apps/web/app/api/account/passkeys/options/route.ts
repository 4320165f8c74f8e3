import { json, requireAccount, route } from '../../../../../lib/server/http';
import { addPasskeyOptions } from '../../../../../lib/server/passkeys';

export const dynamic = 'force-dynamic';

/**
 * POST /api/account/passkeys/options → `{ ceremony, options }`: one more passkey for the account
 * (another device or password manager), its answer to POST /api/account/passkeys/verify.
 */
export const POST = route(async (request: Request) => {
  const { account } = await requireAccount(request, 'adding a passkey');
  return json(await addPasskeyOptions(request, account));
});
