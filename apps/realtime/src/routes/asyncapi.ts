import { realtimeAsyncApi } from '@ovation/shared/api-docs';
import type { FastifyInstance } from 'fastify';

/**
 * GET /asyncapi.json: the AsyncAPI 3 document of the SSE stream `GET /connect` sends. Public, as
 * the stream itself and docs/interface.md are.
 */
export function asyncApiRoutes(app: FastifyInstance) {
  // Built once: the document depends only on the code.
  const body = JSON.stringify(realtimeAsyncApi('0.1.0'));
  app.get('/asyncapi.json', async (_request, reply) => reply.type('application/json').send(body));
}
