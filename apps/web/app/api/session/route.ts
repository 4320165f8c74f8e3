import { CreateSessionSchema } from '@ovation/shared';
import { clientAddressOf } from '../../../lib/server/client-address';
import { context } from '../../../lib/server/context';
import { currentUser, json, readBody, route } from '../../../lib/server/http';
import { sessionToken } from '../../../lib/server/session';

export const dynamic = 'force-dynamic';

/**
 * POST /api/session `{ name }` → a signed httpOnly session cookie and `{ user }`. Signed in
 * already: a rename — the same user id under the new name (the old cookie is revoked), so
 * re-entering a name never loses a user their videos. At most 240 a hour per address (429).
 */
export const POST = route(async (request: Request) => {
  const { name } = await readBody(request, CreateSessionSchema);
  const { sessions, limits, store } = context();
  const address = clientAddressOf(request);
  await limits.session(address);
  const current = await sessions.session(sessionToken(request));
  const user = current ? { id: current.user.id, name } : sessions.newUser(name);
  const cookie = sessions.cookie(await sessions.sign(user));
  if (current) await store.revokeSession(current.id, current.expiresAtMs);
  // Remembered so that a ban can bar the address too (moderation.ts).
  if (address !== 'unknown') await store.noteAddress(user.id, address);
  return json({ user }, 200, { 'set-cookie': cookie });
});

/** GET /api/session → `{ user }` (null when signed out). */
export const GET = route(async (request: Request) => json({ user: (await currentUser(request)) ?? null }));

/**
 * DELETE /api/session → `{ user: null }`: signs out. The cookie is cleared and its session id
 * revoked, so a copy of the cookie is refused from now on too. Signed out already: the same answer.
 */
export const DELETE = route(async (request: Request) => {
  const { sessions, store } = context();
  const current = await sessions.session(sessionToken(request));
  if (current) await store.revokeSession(current.id, current.expiresAtMs);
  return json({ user: null }, 200, { 'set-cookie': sessions.clearCookie() });
});
