import type { FastifyInstance } from 'fastify';
import { buildApp as buildDispatcher } from '../apps/dispatcher/src/app.js';
import { loadDispatcherConfig } from '../apps/dispatcher/src/config.js';
import { buildApp as buildNode } from '../apps/realtime/src/app.js';
import { loadRealtimeConfig } from '../apps/realtime/src/config.js';

/** A real dispatcher (memory engine) and a real realtime node, in this process, on free ports. */
export interface Pipe {
  dispatcher: FastifyInstance;
  node: FastifyInstance;
  dispatcherUrl: string;
  nodeUrl: string;
}

/**
 * Starts the pipe with `token` as INTERNAL_TOKEN, silent logs, and the node registering with the
 * dispatcher every 100 ms; `env` adds to (or overrides) each side's environment.
 */
export async function startPipe(
  token: string,
  env: { dispatcher?: Record<string, string>; node?: Record<string, string> } = {},
): Promise<Pipe> {
  const common = { INTERNAL_TOKEN: token, LOG_LEVEL: 'silent' };
  const dispatcher = await buildDispatcher(loadDispatcherConfig({ ...common, ...env.dispatcher }));
  const dispatcherUrl = await dispatcher.listen({ host: '127.0.0.1', port: 0 });
  const node = await buildNode(
    loadRealtimeConfig({ ...common, PORT: '0', DISPATCHER_URLS: dispatcherUrl, NODE_HEARTBEAT_MS: '100', ...env.node }),
  );
  const nodeUrl = await node.listen({ host: '127.0.0.1', port: 0 });
  return { dispatcher, node, dispatcherUrl, nodeUrl };
}
