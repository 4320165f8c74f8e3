import type { THealth } from '@ovation/shared';
import type { InternalAuth } from '@ovation/shared/server';
import type { FastifyInstance } from 'fastify';
import type { Registry } from 'prom-client';

/**
 * GET /livez (200 while this process's event loop answers, draining or not, dispatchers or not:
 * liveness), GET /healthz (503 while draining or without a dispatcher: readiness; both public, load
 * balancers and the kubelet ask) and GET /metrics (with the internal token: topic names, node ids
 * and rates are not for everyone). Restarting a node costs each of its viewers a reconnect and
 * brings no dispatcher back, so only /livez may get it restarted.
 *
 * With WORKERS > 1 these reach any worker of the machine. /healthz answers for that worker (all of
 * them drain together, and share their dispatchers), and so does /livez: the primary, which accepts
 * every connection on PORT, hands one to a worker only after that worker took the previous one, so
 * a probe on PORT fails when the primary or every worker is stuck, not when one worker is. A worker
 * that exits is forked again by the primary; on a worker's internal listener /livez is that worker's
 * alone. /metrics sums every worker's (`machine`), and GET /internal/metrics gives one worker's
 * registry as JSON — what the sum is made of.
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
  app.get('/livez', async () => ({ status: 'alive' }) as const);

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
