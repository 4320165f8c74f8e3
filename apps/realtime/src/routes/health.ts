import type { THealth } from '@ovation/shared';
import type { FastifyInstance } from 'fastify';
import type { Registry } from 'prom-client';

/** GET /healthz (503 while draining or without a dispatcher) and GET /metrics. */
export function healthRoutes(
  app: FastifyInstance,
  deps: { isDraining: () => boolean; dispatcherHealthy: () => boolean; metrics: Registry },
) {
  app.get('/healthz', async (_request, reply) => {
    const draining = deps.isDraining();
    const dispatcher = deps.dispatcherHealthy();
    const body: THealth = {
      status: draining ? 'draining' : dispatcher ? 'ok' : 'degraded',
      checks: { dispatcher: { ok: dispatcher }, accepting: { ok: !draining } },
    };
    return reply.code(body.status === 'ok' ? 200 : 503).send(body);
  });

  app.get('/metrics', async (_request, reply) => {
    return reply.type(deps.metrics.contentType).send(await deps.metrics.metrics());
  });
}
