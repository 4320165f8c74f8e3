import { IngestReportSchema } from '@ovation/shared';
import { context } from '../../../../../lib/server/context';
import { json, readBody, requireBearer, route } from '../../../../../lib/server/http';
import { ingestReport } from '../../../../../lib/server/ingest';

export const dynamic = 'force-dynamic';

/**
 * POST /api/internal/ingest/report (the ingest service; Bearer INTERNAL_TOKEN) `{ videoId,
 * sessionId, state: live | health | interrupted, playlistUrl?, health? }` → `{ stop }`: `live`
 * makes the video live on the playlist and tells viewers (`stream` event), `health` is kept for
 * the studio, `interrupted` tells viewers the encoder dropped. `stop: true`: this publish is no
 * longer the video's (key rotated, video ended): the ingest ends it.
 */
export const POST = route(async (request: Request) => {
  requireBearer(request, context().config.internalToken, 'the ingest API');
  return json(await ingestReport(await readBody(request, IngestReportSchema)));
});
