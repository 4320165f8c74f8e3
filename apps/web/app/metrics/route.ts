import { collectDefaultMetrics, Registry } from 'prom-client';
import { loadWebConfig } from '../../lib/server/config';
import { requireBearer, route } from '../../lib/server/http';

export const dynamic = 'force-dynamic';

const registry = new Registry();
collectDefaultMetrics({ register: registry });
let internalToken: string | undefined; // read at the first request: `next build` has no secrets

/** Prometheus text, for the operator's scraper only (it tells heap sizes and uptime). */
export const GET = route(async (request: Request) => {
  internalToken ??= loadWebConfig().internalToken;
  requireBearer(request, internalToken, 'GET /metrics');
  return new Response(await registry.metrics(), { headers: { 'content-type': registry.contentType } });
});
