import { parseWith } from '@ovation/shared';
import { json, requireBroadcaster, route } from '../../../../../lib/server/http';
import { watchers } from '../../../../../lib/server/presence';
import { VideoPresenceQuerySchema } from '../../../_schemas/queries';

export const dynamic = 'force-dynamic';

type Params = { params: Promise<{ id: string }> };

/**
 * GET /api/videos/:id/presence?cursor=&limit= (owner only) → `{ count, guests, viewers: [{ id,
 * name, since }], next }`: who is watching, one page of accounts in id order (`next`: the cursor
 * of the following page, null on the last); the studio's "Watching" list.
 */
export const GET = route(async (request: Request, { params }: Params) => {
  const user = await requireBroadcaster(request);
  const query = new URL(request.url).searchParams;
  const page = parseWith(
    VideoPresenceQuerySchema,
    { cursor: query.get('cursor') ?? undefined, limit: query.get('limit') ?? undefined },
    'query',
  );
  return json(await watchers(user, (await params).id, page), 200, { 'cache-control': 'no-store' });
});
