import { RegisterVerifyRequestSchema } from '@ovation/shared';
import { json, readBody, requireRecentPasskey, route } from '../../../../../lib/server/http';
import { addPasskey } from '../../../../../lib/server/passkeys';

export const dynamic = 'force-dynamic';

/**
 * POST /api/account/passkeys/verify `{ ceremony, credential }` → 201 `{ passkey: { id, createdAt,
 * backedUp } }`. 409 when the passkey is registered already or the account holds 10.
 */
export const POST = route(async (request: Request) => {
  const { account } = await requireRecentPasskey(request, 'adding a passkey');
  const { ceremony, credential } = await readBody(request, RegisterVerifyRequestSchema);
  const { id, createdAt, backedUp } = await addPasskey(account, ceremony, credential);
  return json({ passkey: { id, createdAt, backedUp } }, 201);
});
