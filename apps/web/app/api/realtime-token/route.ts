import { parseWith } from '@ovation/shared';
import { clientAddressOf } from '../../../lib/server/client-address';
import { currentUser, json, route } from '../../../lib/server/http';
import { realtimeToken } from '../../../lib/server/realtime-token';
import { RealtimeTokenQuerySchema } from '../_schemas/queries';

export const dynamic = 'force-dynamic';

/**
 * GET /api/realtime-token?videoId=<id> → `{ token, expiresAt, realtimeUrls, topics }`: a
 * connection token for the realtime tier (`GET /connect?token=…`) granting the `videos` topic and,
 * when the video exists, its topic (observing too for its owner). 404 for an unknown video; 429
 * past the per-address budget of guest tokens. The pages get one with the page; the client calls
 * this to renew it.
 *
 * `videoId` repeated (at most MAX_VIDEOS_PER_TOKEN, else 400): one token for the connection a
 * browser's tabs share (@ovation/client's connectShared). There an unknown video is left out of
 * the grant rather than 404 — one tab on a deleted video must not cut every other tab off — and
 * `topics` says what was granted. `shared=1` asks that way whatever the number of ids (a shared
 * connection whose tabs are on one video); without it one id keeps the 404 above.
 */
export const GET = route(async (request: Request) => {
  const params = new URL(request.url).searchParams;
  const { videoId, shared } = parseWith(
    RealtimeTokenQuerySchema,
    { videoId: params.getAll('videoId'), shared: params.get('shared') ?? undefined },
    'query',
  );
  const ids = [...new Set(videoId)];
  // `shared=1` asks leniently whatever the count (one tab's videos may be a single unknown one).
  const videos = ids.length > 1 || shared === '1' ? ids : ids[0];
  return json(await realtimeToken(await currentUser(request), clientAddressOf(request), videos), 200, {
    'cache-control': 'no-store',
  });
});
