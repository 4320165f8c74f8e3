import { IngestAuthorizeRequestSchema } from '@ovation/shared';
import { context } from '../../../../../lib/server/context';
import { json, readBody, requireBearer, route } from '../../../../../lib/server/http';
import { authorizePublish } from '../../../../../lib/server/ingest';

export const dynamic = 'force-dynamic';

/**
 * POST /api/internal/ingest/authorize (the ingest service; Bearer INTERNAL_TOKEN) `{ streamKey,
 * address }` → `{ videoId, sessionId }`, or 403 FORBIDDEN for a key of no video (logged with its
 * first 8 characters only).
 */
export const POST = route(async (request: Request) => {
  requireBearer(request, context().config.internalToken, 'the ingest API');
  return json(await authorizePublish(await readBody(request, IngestAuthorizeRequestSchema)));
});
