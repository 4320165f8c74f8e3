import { CreateVideoSchema, parseWith } from '@ovation/shared';
import { z } from 'zod';
import { idempotencyKey, json, readBody, requireUser, route } from '../../../lib/server/http';
import { createVideo, listMyVideos, listVideos } from '../../../lib/server/videos';

export const dynamic = 'force-dynamic';

const QuerySchema = z.object({ owner: z.literal('me').optional() });

/**
 * GET /api/videos → `{ videos }`, newest first, with live viewer counts; `?owner=me` (signed in):
 * the caller's own videos, every status (the studio's list).
 */
export const GET = route(async (request: Request) => {
  const { owner } = parseWith(
    QuerySchema,
    { owner: new URL(request.url).searchParams.get('owner') ?? undefined },
    'query',
  );
  if (owner === 'me') return json({ videos: await listMyVideos(await requireUser(request)) });
  return json({ videos: await listVideos() });
});

/**
 * POST /api/videos `{ title, hlsUrl? }` (signed in) → 201 `{ video }`; the creator owns it.
 * `Idempotency-Key`: a repeat within 10 minutes answers the same video instead of a second one.
 */
export const POST = route(async (request: Request) => {
  const user = await requireUser(request);
  const key = idempotencyKey(request);
  const input = await readBody(request, CreateVideoSchema);
  return json({ video: await createVideo(user, input, key) }, 201);
});
