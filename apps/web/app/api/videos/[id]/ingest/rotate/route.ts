import { json, requireAccount, route } from '../../../../../../lib/server/http';
import { rotateKey } from '../../../../../../lib/server/ingest';

export const dynamic = 'force-dynamic';

type Params = { params: Promise<{ id: string }> };

/**
 * POST /api/videos/:id/ingest/rotate (owner) → `{ rtmpUrl, streamKey, health: null, reportedAt:
 * null }`: a new stream key. The old one stops working at once, and an encoder publishing with it
 * is cut off within seconds (the ingest's next report is answered `stop`).
 */
export const POST = route(async (request: Request, { params }: Params) => {
  const { session } = await requireAccount(request, 'going live from an encoder');
  return json(await rotateKey(session.user, (await params).id), 200, { 'cache-control': 'no-store' });
});
