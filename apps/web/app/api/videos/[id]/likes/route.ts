import { LikeRequestSchema } from '@ovation/shared';
import { json, readBody, requireUser, route } from '../../../../../lib/server/http';
import { like } from '../../../../../lib/server/videos';

export const dynamic = 'force-dynamic';

type Params = { params: Promise<{ id: string }> };

/** POST /api/videos/:id/likes `{ count?: 1–50 }` (taps batched by the client) → 202 `{ total }`. */
export const POST = route(async (request: Request, { params }: Params) => {
  const user = await requireUser(request);
  const { count } = await readBody(request, LikeRequestSchema);
  return json(await like(user, (await params).id, count), 202);
});
