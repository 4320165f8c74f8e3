import { json, requireBroadcaster, route } from '../../../../../lib/server/http';
import { stats } from '../../../../../lib/server/videos';

export const dynamic = 'force-dynamic';

type Params = { params: Promise<{ id: string }> };

/**
 * GET /api/videos/:id/stats (owner only) → `{ viewers: { count, byRegion }, likes, activity:
 * [{ minute, likes, comments }] (last 10 minutes), latency: { p50, p90, p99, count, … } | null }`.
 */
export const GET = route(async (request: Request, { params }: Params) => {
  const user = await requireBroadcaster(request);
  return json(await stats(user, (await params).id));
});
