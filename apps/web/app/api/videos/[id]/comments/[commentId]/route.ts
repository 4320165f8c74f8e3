import { deleteComment } from '../../../../../../lib/server/comments';
import { json, requireBroadcaster, route } from '../../../../../../lib/server/http';

export const dynamic = 'force-dynamic';

type Params = { params: Promise<{ id: string; commentId: string }> };

/**
 * DELETE /api/videos/:id/comments/:commentId (owner only) → `{ deleted: true }`; viewers receive
 * `comment_deleted`. A repeat within 10 minutes answers the same (and publishes only what failed).
 */
export const DELETE = route(async (request: Request, { params }: Params) => {
  const user = await requireBroadcaster(request);
  const { id, commentId } = await params;
  await deleteComment(user, id, commentId);
  return json({ deleted: true });
});
