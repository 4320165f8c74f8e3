import {
  AppError,
  MAX_TOPICS_PER_CONNECTION,
  parseWith,
  SubscribeRequestSchema,
  type TSubscribeResponse,
} from '@ovation/shared';
import type { FastifyInstance, preHandlerAsyncHookHandler } from 'fastify';
import { checkTopics } from '../access/access.js';
import type { ConnectionHub } from '../connections/hub.js';

/**
 * POST /subscribe and POST /unsubscribe `{ connectionId, topics }` → 200 `{ topics }` (the
 * connection's topics now). `toOwner` (WORKERS > 1): hands a request for another worker's
 * connection to that worker (cluster/peer-requests.ts).
 */
export function subscriptionRoutes(
  app: FastifyInstance,
  deps: { hub: ConnectionHub; toOwner?: preHandlerAsyncHookHandler },
) {
  const options = deps.toOwner ? { preHandler: deps.toOwner } : {};
  const lookup = (body: unknown) => {
    const request = parseWith(SubscribeRequestSchema, body);
    const connection = deps.hub.get(request.connectionId);
    if (!connection?.isOpen)
      throw new AppError('CONNECTION_NOT_FOUND', `no open connection ${request.connectionId} on this node`);
    return { connection, topics: request.topics };
  };

  app.post('/subscribe', options, async (request): Promise<TSubscribeResponse> => {
    const { connection, topics } = lookup(request.body);
    // Held to what the connection was granted when it opened (its token, or the public topics).
    checkTopics(connection.access, topics, connection.observer);
    const added = topics.filter((t) => !connection.hasTopic(t));
    if (connection.topics.length + new Set(added).size > MAX_TOPICS_PER_CONNECTION) {
      throw new AppError(
        'VALIDATION_FAILED',
        `body.topics: a connection holds at most ${MAX_TOPICS_PER_CONNECTION} topics`,
      );
    }
    await deps.hub.join(connection, topics);
    return { topics: [...connection.topics] };
  });

  app.post('/unsubscribe', options, async (request): Promise<TSubscribeResponse> => {
    const { connection, topics } = lookup(request.body);
    deps.hub.unsubscribe(connection, topics);
    return { topics: [...connection.topics] };
  });
}
