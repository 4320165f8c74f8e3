import type { TSessionInfo } from '@ovation/shared';
import { context } from '../../../../lib/server/context';
import { json, requireAccount, route } from '../../../../lib/server/http';

export const dynamic = 'force-dynamic';

/**
 * GET /api/auth/sessions → `{ sessions: [{ id, createdAt, expiresAt, agent, current }] }`: the
 * account's signed-in sessions, newest first (at most 20; a sign-in past them ends the oldest).
 */
export const GET = route(async (request: Request) => {
  const { session, account } = await requireAccount(request, 'your sessions');
  const open = await context().accounts.listSessions(account.id, Date.now());
  const sessions: TSessionInfo[] = open.map((s) => ({
    id: s.id,
    createdAt: s.createdAt,
    expiresAt: new Date(s.expiresAtMs).toISOString(),
    agent: s.agent,
    current: s.id === session.family,
  }));
  return json({ sessions });
});
