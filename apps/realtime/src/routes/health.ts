import type { THealth } from '@ovation/shared';
import type { InternalAuth } from '@ovation/shared/server';
import type { FastifyInstance } from 'fastify';
import type { Registry } from 'prom-client';

/**
 * GET /healthz (503 while draining or without a dispatcher; public: load balancers ask) and
 * GET /metrics (with the internal token: topic names, node ids and rates are not for everyone).
 *
 * With WORKERS > 1 these reach any worker of the machine. /healthz answers for that worker (all of
 * them drain together, and share their dispatchers); /metrics sums every worker's (`machine`), and
 * GET /internal/metrics gives one worker's registry as JSON — what the sum is made of.
 */
export function healthRoutes(
  app: FastifyInstance,
  deps: {
    isDraining: () => boolean;
    dispatcherHealthy: () => boolean;
    metrics: Registry;
    auth: InternalAuth;
    machine?: (own: Registry) => Promise<string>;
  },
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

  app.get('/metrics', { onRequest: deps.auth }, async (_request, reply) => {
    const text = deps.machine ? await deps.machine(deps.metrics) : await deps.metrics.metrics();
    return reply.type(deps.metrics.contentType).send(text);
  });

  if (deps.machine) {
    app.get('/internal/metrics', { onRequest: deps.auth }, async () => deps.metrics.getMetricsAsJSON());
  }
}
