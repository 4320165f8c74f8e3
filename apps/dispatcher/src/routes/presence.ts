import {
  NodePresenceSchema,
  PresenceListQuerySchema,
  PresenceUsersQuerySchema,
  parseWith,
  type TNodePresence,
  type TPresenceAck,
  type TPresenceList,
  type TPresenceOnline,
} from '@ovation/shared';
import type { InternalAuth } from '@ovation/shared/server';
import type { FastifyInstance } from 'fastify';
import { type DispatcherMetrics, timed } from '../metrics.js';
import type { PresenceStore } from '../presence/presence-store.js';
import { registryCall } from './registry-call.js';
import { TopicParamsSchema } from './topics.js';

/** A presence message names at most MAX_PRESENCE_MEMBERS_PER_MESSAGE members (~170 bytes each). */
const PRESENCE_BODY_LIMIT = 2 * 1024 * 1024;

/*
 * Presence (packages/shared/src/presence.ts):
 *   POST /internal/nodes/presence   a node's heartbeats and departures; the ack says how often
 *                                   to send every member again (`refreshMs`)
 *   GET  /topics/:topic/presence    who is here: a page of accounts in id order, and the counts
 *   GET  /presence/online?users=&topic=  (internal) whether each account is present (there, or anywhere)
 */
export function presenceRoutes(
  app: FastifyInstance,
  deps: {
    store: PresenceStore;
    refreshMs: number;
    /** Other regions: each report taken here goes to them too (relay/presence-forward.ts). */
    forward?: ((topics: TNodePresence['topics']) => void) | undefined;
    metrics: DispatcherMetrics;
    auth: InternalAuth;
  },
) {
  const { store, metrics } = deps;
  const ack: TPresenceAck = { ok: true, refreshMs: deps.refreshMs };

  app.post(
    '/internal/nodes/presence',
    { onRequest: deps.auth, bodyLimit: PRESENCE_BODY_LIMIT },
    async (request): Promise<TPresenceAck> => {
      const message = parseWith(NodePresenceSchema, request.body);
      await registryCall(() => timed(metrics, 'presence_report', () => store.report(message.topics)));
      deps.forward?.(message.topics);
      return ack;
    },
  );

  app.get('/topics/:topic/presence', async (request): Promise<TPresenceList> => {
    const { topic } = parseWith(TopicParamsSchema, request.params, 'params');
    const { cursor, limit } = parseWith(PresenceListQuerySchema, request.query, 'query');
    return registryCall(() => timed(metrics, 'presence_list', () => store.list(topic, cursor, limit)));
  });

  app.get('/presence/online', { onRequest: deps.auth }, async (request): Promise<TPresenceOnline> => {
    const { users, topic } = parseWith(PresenceUsersQuerySchema, request.query, 'query');
    return { online: await registryCall(() => store.online(users, topic)) };
  });
}
