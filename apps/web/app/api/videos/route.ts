import { CreateVideoSchema, parseWith } from '@ovation/shared';
import { clientAddressOf } from '../../../lib/server/client-address';
import {
  currentUser,
  idempotencyKey,
  json,
  readBody,
  requireAccount,
  requireUser,
  route,
} from '../../../lib/server/http';
import { createVideo, listMyVideos, listVideos } from '../../../lib/server/videos';
import { VideoListQuerySchema } from '../_schemas/queries';

export const dynamic = 'force-dynamic';

/**
 * GET /api/videos?cursor=&limit= → `{ videos, next }`: live videos, then the caller's own upcoming
 * ones, then ended ones, newest first within each, with live viewer counts, the broadcaster's
 * name (`ownerName`) and, for a live stream from the ingest, a poster (`posterUrl`, a recent frame);
 * `next` is the cursor of the following page (null at the end). `?owner=me` (signed in): the
 * caller's own videos, every status (the studio's list).
 */
export const GET = route(async (request: Request) => {
  const search = new URL(request.url).searchParams;
  const query = parseWith(
    VideoListQuerySchema,
    {
      owner: search.get('owner') ?? undefined,
      cursor: search.get('cursor') ?? undefined,
      limit: search.get('limit') ?? undefined,
    },
    'query',
  );
  if (query.owner === 'me') return json({ videos: await listMyVideos(await requireUser(request)) });
  return json(await listVideos(await currentUser(request), query));
});

/**
 * POST /api/videos `{ title, hlsUrl? }` (signed in with an account) → 201 `{ video }`; the
 * account owns it. A guest gets 403 ACCOUNT_REQUIRED (broadcasting needs an account).
 * `Idempotency-Key`: a repeat within 10 minutes answers the same video instead of a second one.
 * 429 beyond 5 upcoming videos at once, 20 a day per user, 100 a day per address.
 */
export const POST = route(async (request: Request) => {
  const { session } = await requireAccount(request, 'broadcasting');
  const user = session.user;
  const key = idempotencyKey(request);
  const input = await readBody(request, CreateVideoSchema);
  return json({ video: await createVideo(user, input, { key, address: clientAddressOf(request) }) }, 201);
});
