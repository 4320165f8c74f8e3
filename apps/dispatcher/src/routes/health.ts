import type { THealth } from '@ovation/shared';
import type { InternalAuth } from '@ovation/shared/server';
import type { FastifyInstance } from 'fastify';
import type { Registry } from 'prom-client';
import type { RegistryHandle } from '../plugins/registry.js';

/**
 * GET /livez (200 while this process's event loop answers: liveness, never Redis), GET /healthz
 * (200 ready, 503 when the registry store is down: readiness; both public, load balancers and the
 * kubelet ask) and GET /metrics (with the internal token: topic names, node ids and rates are not
 * for everyone). A restart does not bring Redis back, so only /livez may get a process restarted.
 */
export function healthRoutes(
  app: FastifyInstance,
  deps: { store: RegistryHandle; metrics: Registry; auth: InternalAuth },
) {
  app.get('/livez', async () => ({ status: 'alive' }) as const);

  app.get('/healthz', async (_request, reply) => {
    const ok = deps.store.healthy();
    const body: THealth = {
      status: ok ? 'ok' : 'degraded',
      checks: { registry: { ok, detail: deps.store.kind } },
    };
    return reply.code(ok ? 200 : 503).send(body);
  });

  app.get('/metrics', { onRequest: deps.auth }, async (_request, reply) => {
    return reply.type(deps.metrics.contentType).send(await deps.metrics.metrics());
  });
}
