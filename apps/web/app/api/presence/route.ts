import { parseWith } from '@ovation/shared';
import { clientAddressOf } from '../../../lib/server/client-address';
import { json, route } from '../../../lib/server/http';
import { onlineUsers } from '../../../lib/server/presence';
import { PresenceQuerySchema } from '../_schemas/queries';

export const dynamic = 'force-dynamic';

/**
 * GET /api/presence?users=a,b[&videoId=<id>] → `{ online: { "<id>": true|false } }`: whether each
 * account (1–100 ids) is watching the video (not yet left), or without `videoId` any video. The
 * viewer page's feed marks its commenters who are still here. 429 past the per-address budget;
 * 503 when the realtime tier cannot say.
 */
export const GET = route(async (request: Request) => {
  const params = new URL(request.url).searchParams;
  const { users, videoId } = parseWith(
    PresenceQuerySchema,
    { users: params.get('users') ?? undefined, videoId: params.get('videoId') ?? undefined },
    'query',
  );
  const online = await onlineUsers(users, videoId, clientAddressOf(request));
  return json({ online }, 200, { 'cache-control': 'no-store' });
});
