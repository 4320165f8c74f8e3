import type { FastifyInstance } from 'fastify';
import { dispatcherOpenApi } from '../openapi-document.js';

/**
 * GET /openapi.json: public, like docs/interface.md, which describes the same routes; the
 * routes it lists still require their token.
 */
export function openApiRoutes(app: FastifyInstance) {
  // Built once: the document depends only on the code.
  const body = JSON.stringify(dispatcherOpenApi());
  app.get('/openapi.json', async (_request, reply) => reply.type('application/json').send(body));
}
