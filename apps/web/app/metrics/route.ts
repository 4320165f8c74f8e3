import { collectDefaultMetrics, Registry } from 'prom-client';

export const dynamic = 'force-dynamic';

const registry = new Registry();
collectDefaultMetrics({ register: registry });

export async function GET() {
  return new Response(await registry.metrics(), { headers: { 'content-type': registry.contentType } });
}
