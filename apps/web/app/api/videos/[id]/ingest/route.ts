import { json, requireAccount, route } from '../../../../../lib/server/http';
import { ingestInfo } from '../../../../../lib/server/ingest';

export const dynamic = 'force-dynamic';

type Params = { params: Promise<{ id: string }> };

/**
 * GET /api/videos/:id/ingest (owner) → `{ rtmpUrl, streamKey, health, reportedAt }`: where the
 * broadcaster's encoder (OBS: Settings → Stream → Custom) pushes, with which key (made on the
 * first ask), and the stream's health while an encoder is connected (null otherwise). 503 when no
 * ingest service is configured (INGEST_RTMP_URL).
 */
export const GET = route(async (request: Request, { params }: Params) => {
  const { session } = await requireAccount(request, 'going live from an encoder');
  // The stream key is a secret: no cache keeps it.
  return json(await ingestInfo(session.user, (await params).id), 200, { 'cache-control': 'no-store' });
});
