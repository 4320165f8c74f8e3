import type { THealth } from '@ovation/shared';
import type { FastifyInstance } from 'fastify';
import type { Registry } from 'prom-client';
import type { RegistryHandle } from '../plugins/registry.js';

/** GET /healthz (200 ready, 503 when the registry store is down) and GET /metrics. */
export function healthRoutes(app: FastifyInstance, deps: { store: RegistryHandle; metrics: Registry }) {
  app.get('/healthz', async (_request, reply) => {
    const ok = deps.store.healthy();
    const body: THealth = {
      status: ok ? 'ok' : 'degraded',
      checks: { registry: { ok, detail: deps.store.kind } },
    };
    return reply.code(ok ? 200 : 503).send(body);
  });

  app.get('/metrics', async (_request, reply) => {
    return reply.type(deps.metrics.contentType).send(await deps.metrics.metrics());
  });
}
