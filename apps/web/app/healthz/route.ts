import { health } from '../../lib/server/health';

export const dynamic = 'force-dynamic';

/**
 * GET /healthz → 200 `{ status: "ok", checks: { redis, dispatcher } }` when the store and the
 * dispatcher tier answer; 503 `{ status: "degraded", checks }` naming the one that does not.
 */
export async function GET() {
  const body = await health();
  return Response.json(body, { status: body.status === 'ok' ? 200 : 503 });
}
