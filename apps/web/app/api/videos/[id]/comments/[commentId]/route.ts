import { json, requireUser, route } from '../../../../../../lib/server/http';
import { deleteComment } from '../../../../../../lib/server/videos';

export const dynamic = 'force-dynamic';

type Params = { params: Promise<{ id: string; commentId: string }> };

/** DELETE /api/videos/:id/comments/:commentId (owner only) → `{ deleted: true }`; viewers receive `comment_deleted`. */
export const DELETE = route(async (request: Request, { params }: Params) => {
  const user = await requireUser(request);
  const { id, commentId } = await params;
  await deleteComment(user, id, commentId);
  return json({ deleted: true });
});
