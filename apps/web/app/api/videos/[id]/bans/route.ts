import { BanRequestSchema } from '@ovation/shared';
import { json, readBody, requireBroadcaster, route } from '../../../../../lib/server/http';
import { ban, listBans } from '../../../../../lib/server/moderation';

export const dynamic = 'force-dynamic';

type Params = { params: Promise<{ id: string }> };

/** GET /api/videos/:id/bans (owner only) → `{ bans: [{ id, name }] }`. */
export const GET = route(async (request: Request, { params }: Params) => {
  const user = await requireBroadcaster(request);
  return json({ bans: await listBans(user, (await params).id) });
});

/**
 * POST /api/videos/:id/bans `{ userId, name }` (owner only) → 201 `{ ban: { id, name } }`: the user's
 * next comments on this video answer 403 BANNED.
 */
export const POST = route(async (request: Request, { params }: Params) => {
  const user = await requireBroadcaster(request);
  const target = await readBody(request, BanRequestSchema);
  return json({ ban: await ban(user, (await params).id, target) }, 201);
});
