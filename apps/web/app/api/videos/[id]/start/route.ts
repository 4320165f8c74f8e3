import { json, requireBroadcaster, route } from '../../../../../lib/server/http';
import { setStatus } from '../../../../../lib/server/videos';

export const dynamic = 'force-dynamic';

type Params = { params: Promise<{ id: string }> };

/** POST /api/videos/:id/start (owner only) → `{ video }`; viewers receive `status` "live". */
export const POST = route(async (request: Request, { params }: Params) => {
  const user = await requireBroadcaster(request);
  return json({ video: await setStatus(user, (await params).id, 'live') });
});
