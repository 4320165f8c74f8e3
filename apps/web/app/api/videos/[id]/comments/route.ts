import { CommentRequestSchema, parseWith } from '@ovation/shared';
import { clientAddressOf } from '../../../../../lib/server/client-address';
import { comment, listComments } from '../../../../../lib/server/comments';
import { idempotencyKey, json, readBody, requireSession, route } from '../../../../../lib/server/http';
import { CommentListQuerySchema } from '../../../_schemas/queries';

export const dynamic = 'force-dynamic';

type Params = { params: Promise<{ id: string }> };

/** GET /api/videos/:id/comments?limit=50 → `{ comments }`, oldest first. */
export const GET = route(async (request: Request, { params }: Params) => {
  const url = new URL(request.url);
  const { limit } = parseWith(CommentListQuerySchema, { limit: url.searchParams.get('limit') ?? undefined }, 'query');
  return json({ comments: await listComments((await params).id, limit) });
});

/**
 * POST /api/videos/:id/comments `{ text }` (1–500 characters after trimming) → 201 `{ comment }`
 * (`owner: true` on the owner's). `Idempotency-Key`: a repeat within 10 minutes answers the same
 * comment and stores nothing. 409 under the broadcaster's name (not the owner); 403 BANNED for a
 * banned user or from an address their ban barred; 403 ACCOUNT_REQUIRED from a guest where the
 * broadcaster made comments members-only; 429 per user and per address.
 */
export const POST = route(async (request: Request, { params }: Params) => {
  const session = await requireSession(request);
  const key = idempotencyKey(request);
  const { text } = await readBody(request, CommentRequestSchema);
  const options = { key, address: clientAddressOf(request), member: session.account };
  return json({ comment: await comment(session.user, (await params).id, text, options) }, 201);
});
