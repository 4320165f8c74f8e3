import { AppError, CreateSessionSchema } from '@ovation/shared';
import { NextResponse } from 'next/server';
import { clientAddressOf } from '../../../lib/server/client-address';
import { context } from '../../../lib/server/context';
import { currentSession, json, readBody, route } from '../../../lib/server/http';
import { signOut } from '../../../lib/server/passkeys';

export const dynamic = 'force-dynamic';

/**
 * POST /api/session `{ name }` → a signed httpOnly session cookie and `{ user }`. Signed in
 * already: a rename — the same user id under the new name, in the same session (signing out ends
 * every cookie of it), so re-entering a name never loses a user their videos. At most 240 an hour
 * per address (429). An account's session is refused (409): its name is the account's
 * (PATCH /api/account), and a guest token must never replace it.
 */
export const POST = route(async (request: Request) => {
  const { name } = await readBody(request, CreateSessionSchema);
  const { sessions, limits, store } = context();
  const address = clientAddressOf(request);
  await limits.session(address);
  const current = await sessions.session(sessions.tokenOf(request));
  if (current?.account) {
    throw new AppError('CONFLICT', 'you are signed in with an account: change your name on your account page');
  }
  const user = current ? { id: current.user.id, name } : sessions.newUser(name);
  // A rename stays in the session's family and expiry: a copied cookie renamed by a thief is
  // revoked with the rest at sign-out, and renaming never makes a session live longer.
  const family = current ? { id: current.family, expiresAtMs: current.expiresAtMs } : undefined;
  const cookie = sessions.cookie(await sessions.sign(user, family), family?.expiresAtMs);
  // Remembered so that a ban can bar the address too (moderation.ts).
  if (address !== 'unknown') await store.noteAddress(user.id, address);
  const response = NextResponse.json({ user });
  response.cookies.set(cookie);
  return response;
});

/**
 * GET /api/session → `{ user }` (null when signed out), and `account` (`{ id, name, handle,
 * createdAt }`) when signed in with one.
 */
export const GET = route(async (request: Request) => {
  const current = await currentSession(request);
  const account = current?.account ? await context().accounts.getAccount(current.user.id) : undefined;
  return json({ user: current?.user ?? null, ...(account ? { account } : {}) });
});

/**
 * DELETE /api/session → `{ user: null }`: signs out (as POST /api/auth/logout). The cookie is
 * cleared and its session ended (a guest's family revoked, an account's session closed), so every
 * copy of the cookie, renamed or not, is refused from now on too. Signed out already: the same
 * answer.
 */
export const DELETE = route(async (request: Request) => {
  const { sessions } = context();
  const current = await sessions.session(sessions.tokenOf(request));
  if (current) await signOut(current);
  const response = NextResponse.json({ user: null });
  response.cookies.set(sessions.clearCookie());
  return response;
});
