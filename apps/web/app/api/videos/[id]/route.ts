import { json, route } from '../../../../lib/server/http';
import { getVideo } from '../../../../lib/server/videos';

export const dynamic = 'force-dynamic';

type Params = { params: Promise<{ id: string }> };

/** GET /api/videos/:id → `{ video }`. */
export const GET = route(async (_request: Request, { params }: Params) =>
  json({ video: await getVideo((await params).id) }),
);
