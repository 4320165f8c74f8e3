import { CreateVideoSchema } from '@ovation/shared';
import { json, readBody, requireUser, route } from '../../../lib/server/http';
import { createVideo, listVideos } from '../../../lib/server/videos';

export const dynamic = 'force-dynamic';

/** GET /api/videos → `{ videos }`, newest first, with live viewer counts. */
export const GET = route(async () => json({ videos: await listVideos() }));

/** POST /api/videos `{ title, hlsUrl? }` (signed in) → 201 `{ video }`; the creator owns it. */
export const POST = route(async (request: Request) => {
  const user = await requireUser(request);
  const input = await readBody(request, CreateVideoSchema);
  return json({ video: await createVideo(user, input) }, 201);
});
