import { AppError } from '@ovation/shared';
import { context } from '../../../../../lib/server/context';
import { json, requireAccount, requireRecentPasskey, route } from '../../../../../lib/server/http';

export const dynamic = 'force-dynamic';

type Params = { params: Promise<{ id: string }> };

/**
 * DELETE /api/auth/sessions/:id → `{ ended: true }`: ends one of the account's sessions (this one
 * included: then it is a sign-out); every cookie of it stops working at once. 404 when the
 * account has no such open session; 403 REAUTH_REQUIRED for another session without a passkey
 * checked in the last 10 minutes.
 */
export const DELETE = route(async (request: Request, { params }: Params) => {
  const { session, account } = await requireAccount(request, 'ending a session');
  const { id } = await params;
  // Ending this one is signing out; ending another needs the passkey (a stolen cookie must not
  // shut its owner out).
  if (id !== session.family) await requireRecentPasskey(request, 'ending another session');
  if (id.length > 64 || !(await context().accounts.closeSession(account.id, id))) {
    throw new AppError('NOT_FOUND', 'no such open session of your account');
  }
  return json({ ended: true });
});
