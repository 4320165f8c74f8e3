import { NextResponse } from 'next/server';
import { context } from '../../../../lib/server/context';
import { currentSession, route } from '../../../../lib/server/http';
import { signOut } from '../../../../lib/server/passkeys';

export const dynamic = 'force-dynamic';

/**
 * POST /api/auth/logout → `{ user: null }`: signs this session out (an account's or a guest's;
 * the same as DELETE /api/session). Every copy of its cookie stops working.
 */
export const POST = route(async (request: Request) => {
  const current = await currentSession(request);
  if (current) await signOut(current);
  const response = NextResponse.json({ user: null });
  response.cookies.set(context().sessions.clearCookie());
  return response;
});
