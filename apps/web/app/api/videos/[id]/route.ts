import { UpdateVideoSchema } from '@ovation/shared';
import { json, readBody, requireBroadcaster, route } from '../../../../lib/server/http';
import { getVideo, updateVideo } from '../../../../lib/server/videos';

export const dynamic = 'force-dynamic';

type Params = { params: Promise<{ id: string }> };

/** GET /api/videos/:id → `{ video }`. */
export const GET = route(async (_request: Request, { params }: Params) =>
  json({ video: await getVideo((await params).id) }),
);

/**
 * PATCH /api/videos/:id `{ membersOnlyComments }` (owner only) → `{ video }`: with it on, only
 * accounts may comment (a guest's comment answers 403 ACCOUNT_REQUIRED; the owner always may).
 */
export const PATCH = route(async (request: Request, { params }: Params) => {
  const user = await requireBroadcaster(request);
  const update = await readBody(request, UpdateVideoSchema);
  return json({ video: await updateVideo(user, (await params).id, update) });
});
