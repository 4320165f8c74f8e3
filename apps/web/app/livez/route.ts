export const dynamic = 'force-dynamic';

/**
 * GET /livez → 200 `{ status: "alive" }` whenever the process answers: liveness. It reads neither
 * the store nor the dispatchers (/healthz, readiness, does): restarting the web brings neither back.
 */
export function GET() {
  return Response.json({ status: 'alive' });
}
