import { UpdateAccountRequestSchema } from '@ovation/shared';
import { clientAddressOf } from '../../../lib/server/client-address';
import { context } from '../../../lib/server/context';
import { json, readBody, requireAccount, route } from '../../../lib/server/http';

export const dynamic = 'force-dynamic';

/**
 * GET /api/account → `{ account: { id, name, handle, createdAt }, passkeys: [{ id, createdAt,
 * lastUsedAt?, backedUp }] }` (oldest passkey first).
 */
export const GET = route(async (request: Request) => {
  const { account } = await requireAccount(request, 'your account');
  const passkeys = await context().accounts.listPasskeys(account.id);
  return json({
    account,
    passkeys: passkeys.map(({ id, createdAt, lastUsedAt, backedUp }) => ({
      id,
      createdAt,
      backedUp,
      ...(lastUsedAt ? { lastUsedAt } : {}),
    })),
  });
});

/** PATCH /api/account `{ name }` → `{ account }`: a new display name, in every session of the account. */
export const PATCH = route(async (request: Request) => {
  const { account } = await requireAccount(request, 'your account');
  const { name } = await readBody(request, UpdateAccountRequestSchema);
  // Renames share the address's sign-in budget (240 an hour), as a guest's do.
  await context().limits.session(clientAddressOf(request));
  await context().accounts.renameAccount(account.id, name);
  return json({ account: { ...account, name } });
});
