import { json, requireBroadcaster, route } from '../../../../../../lib/server/http';
import { unban } from '../../../../../../lib/server/moderation';

export const dynamic = 'force-dynamic';

type Params = { params: Promise<{ id: string; userId: string }> };

/** DELETE /api/videos/:id/bans/:userId (owner only) → `{ unbanned: true }`. */
export const DELETE = route(async (request: Request, { params }: Params) => {
  const user = await requireBroadcaster(request);
  const { id, userId } = await params;
  await unban(user, id, userId);
  return json({ unbanned: true });
});
