import { AppError } from '@ovation/shared';
import { context } from '../../../../../lib/server/context';
import { json, requireRecentPasskey, route } from '../../../../../lib/server/http';

export const dynamic = 'force-dynamic';

type Params = { params: Promise<{ id: string }> };

/**
 * DELETE /api/account/passkeys/:id → `{ removed: true }`: the passkey no longer signs in, and the
 * sessions signed in with it end. The last one is kept (409: an account needs a way in); 404 for
 * one the account does not have. Needs a passkey checked in the last 10 minutes (REAUTH_REQUIRED).
 */
export const DELETE = route(async (request: Request, { params }: Params) => {
  const { account } = await requireRecentPasskey(request, 'removing a passkey');
  const { id } = await params;
  const outcome = id.length > 1_400 ? 'missing' : await context().accounts.removePasskey(account.id, id);
  if (outcome === 'missing') throw new AppError('NOT_FOUND', 'no such passkey on your account');
  if (outcome === 'last') throw new AppError('CONFLICT', 'this is your last passkey; add another before removing it');
  // Sessions signed in with it end too: a passkey removed because it was lost or stolen takes
  // whatever it opened with it.
  await context().accounts.closeSessionsOfPasskey(account.id, id);
  return json({ removed: true });
});
