import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import cors from '@fastify/cors';
import { ConnectTokens } from '@ovation/shared/connect-token';
import {
  addressKey,
  clientAddress,
  compileTrustProxy,
  installErrorHandling,
  requireInternalToken,
  serviceFastifyOptions,
} from '@ovation/shared/server';
import Fastify, { type FastifyInstance } from 'fastify';
import { Admission } from './access/admission.js';
import { ConnectAuth } from './access/connect-auth.js';
import { CatchUpClient } from './catch-up/catch-up-client.js';
import { catchUpFrames, lowestPosition, parseResumeIds } from './catch-up/handover.js';
import type { RealtimeConfig } from './config.js';
import { ConnectionHub } from './connections/hub.js';
import { DispatcherClient } from './dispatcher-client.js';
import { DispatcherLink } from './dispatcher-link.js';
import { ResyncLog } from './fanout/resync-log.js';
import { FanoutScheduler } from './fanout/scheduler.js';
import { LatencyCollector } from './latency/collector.js';
import { createRealtimeMetrics } from './metrics.js';
import { createConnectHandler, isConnectRequest } from './routes/connect.js';
import { healthRoutes } from './routes/health.js';
import { internalRoutes } from './routes/internal.js';
import { latencyRoutes } from './routes/latency.js';
import { subscriptionRoutes } from './routes/subscriptions.js';

/**
 * A realtime frontend node as a Fastify app. Registration with the dispatcher tier starts once
 * the node listens (it must know its own URL); `close()` drains: clients are told to reconnect,
 * the node's topics are unregistered, then the server stops.
 */
export async function buildApp(config: RealtimeConfig): Promise<FastifyInstance> {
  // GET /connect is served by Node's server directly (routes/connect.ts says why); the rest by Fastify.
  let connectHandler: ((req: IncomingMessage, res: ServerResponse) => Promise<void>) | undefined;
  const app = Fastify({
    ...serviceFastifyOptions(config.logLevel),
    // While draining, /healthz answers 503 itself (with the reason) and other routes keep working.
    return503OnClosing: false,
    serverFactory: (fastifyHandler) =>
      createServer((req, res) => {
        if (connectHandler && isConnectRequest(req)) void connectHandler(req, res);
        else fastifyHandler(req, res);
      }),
  });
  installErrorHandling(app);

  let draining = false;
  let publicUrl = config.publicUrl ?? `http://${config.host}:${config.port}`;

  const metrics = createRealtimeMetrics({
    connections: () => hub.size,
    subscriptions: () => hub.table.subscriptionCount,
    topics: () => hub.table.topicCount,
  });
  const dispatchers = new DispatcherClient(config.dispatcherUrls, config.internalToken);
  const catchUps = new CatchUpClient(dispatchers);
  const hub: ConnectionHub = new ConnectionHub({
    heartbeatMs: config.heartbeatMs,
    maxBufferedBytes: config.maxBufferedBytes,
    metrics,
    onPresenceChange: (topics) => {
      for (const topic of topics) if (!hub.table.has(topic)) fanout.forgetTopic(topic);
      return link.sync(topics);
    },
    beforeJoin: (topic) => fanout.flushTopic(topic),
    releasedThrough: (topic, epoch) => fanout.releasedThrough(topic, epoch),
    registered: (topics) => link.registered(topics),
    catchUp: async (topics, lastEventId) => {
      const resume = parseResumeIds(lastEventId);
      const epochs = resume?.map((p) => p.epoch);
      const results = await catchUps.fetch(topics, lowestPosition(resume), epochs).catch((error: unknown) => {
        // The viewer is sent to another node (or here again, later): a stream without its
        // catch-up would start without a like total, or skip what it missed.
        metrics.catchUpFailures.inc();
        throw error;
      });
      if (resume) metrics.resumes.inc();
      // This connection's topics only (a round's results hold every joiner's).
      for (const topic of topics) {
        const result = results?.get(topic);
        if (result) fanout.seedOrder(topic, result);
      }
      return catchUpFrames(topics, results, resume, Date.now());
    },
  });
  const resyncLog = new ResyncLog(app.log);
  const fanout = new FanoutScheduler(hub.table, metrics, {
    gapRatio: config.flushGapRatio,
    orderWaitMs: config.orderWaitMs,
    repair: async (topic, afterPos, epoch) => (await catchUps.fetch([topic], afterPos, [epoch])).get(topic),
    probe: (topics) => catchUps.fetch(topics, undefined),
    onResync: (topic, why) => resyncLog.told(topic, why),
  });
  const collector = new LatencyCollector(metrics.registry);
  const link = new DispatcherLink({
    client: dispatchers,
    nodeId: config.nodeId,
    publicUrl: () => publicUrl,
    table: hub.table,
    collector,
    topicState: (topic) => fanout.topicState(topic),
    onSynced: () => fanout.probeAll(),
    heartbeatMs: config.nodeHeartbeatMs,
    log: app.log,
  });

  const trustProxy = compileTrustProxy(config.trustProxy);
  const allowedOrigins = new Set(config.corsOrigins);
  const originAllowed = (origin: string | undefined) =>
    origin !== undefined && (allowedOrigins.has('*') || allowedOrigins.has(origin));
  await app.register(cors, { origin: (origin, callback) => callback(null, originAllowed(origin)) });

  connectHandler = createConnectHandler({
    hub,
    nodeId: config.nodeId,
    region: config.region,
    maxConnections: config.maxConnections,
    auth: new ConnectAuth({
      tokens: new ConnectTokens(config.connectTokenSecret),
      required: config.requireConnectToken,
      publicTopics: config.publicTopics,
    }),
    admission: new Admission({
      perViewer: config.maxConnectionsPerViewer,
      perAddress: config.maxConnectionsPerAddress,
      refusalsPerAddress: config.maxRefusalsPerAddress,
    }),
    addressOf: (req) => addressKey(clientAddress(req, trustProxy)),
    isDraining: () => draining,
    onSentAway: (reason, error) => {
      metrics.sentAway.inc({ reason });
      if (error)
        app.log.warn({ err: (error as Error).message }, 'connection sent elsewhere: its topics could not be set up');
    },
    corsHeaders: (origin): Record<string, string> =>
      origin !== undefined && originAllowed(origin) ? { 'access-control-allow-origin': origin, vary: 'Origin' } : {},
  });
  subscriptionRoutes(app, { hub });
  latencyRoutes(app, { hub, collector });
  const internalAuth = requireInternalToken(config.internalToken);
  internalRoutes(app, { fanout, auth: internalAuth });
  healthRoutes(app, {
    isDraining: () => draining,
    dispatcherHealthy: () => link.healthy,
    metrics: metrics.registry,
    auth: internalAuth,
  });

  app.addHook('onListen', async () => {
    if (!config.publicUrl) {
      const address = app.server.address();
      if (address && typeof address === 'object') publicUrl = `http://${config.host}:${address.port}`;
    }
    hub.start();
    link.start();
  });
  // Shutdown: refuse new connections (/healthz says draining), let each viewer go at its own
  // moment within DRAIN_MS while still delivering to it, then unregister and stop.
  app.addHook('preClose', async () => {
    draining = true;
    await hub.drain(config.drainMs);
    fanout.flushAll();
    fanout.close();
    await link.stop();
    await dispatchers.close();
  });
  return app;
}
