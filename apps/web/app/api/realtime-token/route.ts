import { parseWith } from '@ovation/shared';
import { clientAddressOf } from '../../../lib/server/client-address';
import { currentUser, json, route } from '../../../lib/server/http';
import { realtimeToken } from '../../../lib/server/realtime-token';
import { RealtimeTokenQuerySchema } from '../_schemas/queries';

export const dynamic = 'force-dynamic';

/**
 * GET /api/realtime-token?videoId=<id> → `{ token, expiresAt, realtimeUrls }`: a connection token
 * for the realtime tier (`GET /connect?token=…`) granting the `videos` topic and, when the video
 * exists, its topic (observing too for its owner). 404 for an unknown video; 429 past the
 * per-address budget of guest tokens. The pages get one with the page; the client calls this to
 * renew it.
 */
export const GET = route(async (request: Request) => {
  const { videoId } = parseWith(
    RealtimeTokenQuerySchema,
    { videoId: new URL(request.url).searchParams.get('videoId') ?? undefined },
    'query',
  );
  return json(await realtimeToken(await currentUser(request), clientAddressOf(request), videoId), 200, {
    'cache-control': 'no-store',
  });
});
