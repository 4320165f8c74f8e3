import { LikeRequestSchema } from '@ovation/shared';
import { clientAddressOf } from '../../../../../lib/server/client-address';
import { idempotencyKey, json, readBody, requireUser, route } from '../../../../../lib/server/http';
import { like } from '../../../../../lib/server/likes';

export const dynamic = 'force-dynamic';

type Params = { params: Promise<{ id: string }> };

/**
 * POST /api/videos/:id/likes `{ count?: 1–50, reaction?: like|celebrate|support|love|insightful|funny }`
 * (taps of one reaction batched by the client) → 202 `{ total, totals }` (totals per reaction).
 * `Idempotency-Key`: a repeat within 10 minutes answers the first total and counts nothing again.
 */
export const POST = route(async (request: Request, { params }: Params) => {
  const user = await requireUser(request);
  const key = idempotencyKey(request);
  const batch = await readBody(request, LikeRequestSchema);
  return json(await like(user, (await params).id, batch, { key, address: clientAddressOf(request) }), 202);
});
