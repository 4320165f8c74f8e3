import { CreateSessionSchema } from '@ovation/shared';
import { context } from '../../../lib/server/context';
import { currentUser, json, readBody, route } from '../../../lib/server/http';

export const dynamic = 'force-dynamic';

/** POST /api/session `{ name }` → a signed httpOnly session cookie and `{ user }`. */
export const POST = route(async (request: Request) => {
  const { name } = await readBody(request, CreateSessionSchema);
  const { sessions } = context();
  const user = sessions.newUser(name);
  return json({ user }, 200, { 'set-cookie': sessions.cookie(await sessions.sign(user)) });
});

/** GET /api/session → `{ user }` (null when signed out). */
export const GET = route(async (request: Request) => json({ user: (await currentUser(request)) ?? null }));
