import type { THealth } from '@ovation/shared';
import type { InternalAuth } from '@ovation/shared/server';
import type { FastifyInstance } from 'fastify';
import type { Registry } from 'prom-client';

/**
 * GET /livez (the event loop answers), GET /healthz (200 while the RTMP listener accepts: readiness;
 * both public) and GET /metrics (with the internal token, like the other services).
 */
export function healthRoutes(
  app: FastifyInstance,
  deps: {
    rtmpListening: () => boolean;
    ffmpegVersion: string;
    publishers: () => { active: number; max: number };
    metrics: Registry;
    auth: InternalAuth;
  },
) {
  app.get('/livez', async () => ({ status: 'alive' }) as const);

  app.get('/healthz', async (_request, reply) => {
    const listening = deps.rtmpListening();
    const { active, max } = deps.publishers();
    const body: THealth = {
      status: listening ? 'ok' : 'draining',
      checks: {
        rtmp: { ok: listening },
        ffmpeg: { ok: true, detail: deps.ffmpegVersion },
        publishers: { ok: active < max, detail: `${active} of ${max}` },
      },
    };
    return reply.code(listening ? 200 : 503).send(body);
  });

  app.get('/metrics', { onRequest: deps.auth }, async (_request, reply) => {
    return reply.type(deps.metrics.contentType).send(await deps.metrics.metrics());
  });
}
