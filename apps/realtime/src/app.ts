import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import cors from '@fastify/cors';
import { ConnectTokens } from '@ovation/shared/connect-token';
import { answerNodeLevelRequests } from '@ovation/shared/node-answers';
import {
  addressKey,
  answerClientError,
  clientAddress,
  compileTrustProxy,
  installErrorHandling,
  requireInternalToken,
  serviceFastifyOptions,
} from '@ovation/shared/server';
import Fastify, { type FastifyInstance } from 'fastify';
import { topicMatcher } from './access/access.js';
import { Admission } from './access/admission.js';
import { ConnectAuth } from './access/connect-auth.js';
import { CatchUpClient } from './catch-up/catch-up-client.js';
import { catchUpFrames, lowestPosition, parseResumeIds } from './catch-up/handover.js';
import { PeerRequests } from './cluster/peer-requests.js';
import { ClusterPeers } from './cluster/peers.js';
import type { RealtimeConfig } from './config.js';
import { ConnectionHub } from './connections/hub.js';
import { DispatcherClient } from './dispatcher-client.js';
import { DispatcherLink } from './dispatcher-link.js';
import { ResyncLog } from './fanout/resync-log.js';
import { FanoutScheduler } from './fanout/scheduler.js';
import { LatencyCollector } from './latency/collector.js';
import { createRealtimeMetrics } from './metrics.js';
import { PresenceReporter } from './presence-reporter.js';
import { asyncApiRoutes } from './routes/asyncapi.js';
import { createConnectHandler, isConnectRequest } from './routes/connect.js';
import { healthRoutes } from './routes/health.js';
import { internalRoutes } from './routes/internal.js';
import { latencyRoutes } from './routes/latency.js';
import { subscriptionRoutes } from './routes/subscriptions.js';

/**
 * A realtime frontend node as a Fastify app. Registration with the dispatcher tier starts once
 * the node listens (it must know its own URL); `close()` drains: clients are told to reconnect,
 * the node's topics are unregistered, then the server stops.
 *
 * `cluster`: this node is worker `index` of a machine running WORKERS of them on one port
 * (cluster/primary.ts). It then also listens on an internal port of its own, the URL it registers:
 * on the shared port a dispatcher's delivery would reach any worker.
 */
export async function buildApp(
  config: RealtimeConfig,
  deps: { cluster?: ClusterPeers } = {},
): Promise<FastifyInstance> {
  // GET /connect is served by Node's server directly (routes/connect.ts says why); the rest by Fastify.
  let connectHandler: ((req: IncomingMessage, res: ServerResponse) => Promise<void>) | undefined;
  let internalServer: Server | undefined;
  const app = Fastify({
    ...serviceFastifyOptions(config.logLevel),
    // While draining, /healthz answers 503 itself (with the reason) and other routes keep working.
    return503OnClosing: false,
    serverFactory: (fastifyHandler) => {
      // The internal listener serves the same routes but /connect (viewers use the shared port).
      if (deps.cluster) internalServer = createServer(fastifyHandler);
      return createServer((req, res) => {
        if (connectHandler && isConnectRequest(req)) void connectHandler(req, res);
        else fastifyHandler(req, res);
      });
    },
  });
  installErrorHandling(app);

  let draining = false;
  let publicUrl = config.publicUrl ?? `http://${config.host}:${config.port}`;
  /** A worker's internal listener as its peers on this machine reach it. */
  let localUrl = publicUrl;

  const metrics = createRealtimeMetrics({
    connections: () => hub.size,
    subscriptions: () => hub.table.subscriptionCount,
    topics: () => hub.table.topicCount,
  });
  const dispatchers = new DispatcherClient(config.dispatcherUrls, config.internalToken);
  const catchUps = new CatchUpClient(dispatchers);
  const peers = deps.cluster ? new PeerRequests(deps.cluster, config.internalToken, app.log) : undefined;
  const hub: ConnectionHub = new ConnectionHub({
    ...(deps.cluster ? { idPrefix: ClusterPeers.idPrefix(deps.cluster.index) } : {}),
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

  const presence = new PresenceReporter({
    client: dispatchers,
    nodeId: config.nodeId,
    reports: topicMatcher(config.presenceTopics),
    flushMs: config.presenceFlushMs,
    log: app.log,
  });
  hub.table.members = presence;

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
  const toOwner = peers ? { toOwner: peers.toOwner } : {};
  subscriptionRoutes(app, { hub, ...toOwner });
  latencyRoutes(app, { hub, collector, ...toOwner });
  asyncApiRoutes(app);
  const internalAuth = requireInternalToken(config.internalToken);
  internalRoutes(app, { fanout, auth: internalAuth });
  healthRoutes(app, {
    isDraining: () => draining,
    dispatcherHealthy: () => link.healthy,
    metrics: metrics.registry,
    auth: internalAuth,
    ...(peers ? { machine: (own: typeof metrics.registry) => peers.machineMetrics(own) } : {}),
  });

  // A worker's internal listener: up before the shared port, so the URL it registers answers.
  app.addHook('onReady', async () => {
    const cluster = deps.cluster;
    if (!internalServer || !cluster) return;
    installErrorHandlingOn(internalServer, app);
    const port = config.internalPort > 0 ? config.internalPort + cluster.index : 0;
    const server = internalServer;
    // exclusive: a port of this worker's own (a cluster worker's listen is shared by default).
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen({ host: config.host, port, exclusive: true }, () => {
        server.off('error', reject);
        resolve();
      });
    });
    const address = server.address();
    const actual = address && typeof address === 'object' ? address.port : port;
    publicUrl = workerUrl(config.publicUrl ?? `http://${config.host}`, actual);
    localUrl = workerUrl(`http://${loopbackFor(config.host)}`, actual);
  });

  app.addHook('onListen', async () => {
    if (deps.cluster) {
      deps.cluster.announce(localUrl);
    } else if (!config.publicUrl) {
      const address = app.server.address();
      if (address && typeof address === 'object') publicUrl = `http://${config.host}:${address.port}`;
    }
    hub.start();
    link.start();
    presence.start();
  });
  // Shutdown: refuse new connections (/healthz says draining), let each viewer go at its own
  // moment within DRAIN_MS while still delivering to it, then unregister and stop.
  app.addHook('preClose', async () => {
    draining = true;
    await hub.drain(config.drainMs);
    fanout.flushAll();
    fanout.close();
    await presence.stop();
    await link.stop();
    await dispatchers.close();
    await peers?.close();
  });
  // Dispatchers deliver to a worker's internal listener until its drain is over: it closes last.
  app.addHook('onClose', async () => {
    const server = internalServer;
    if (!server?.listening) return;
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
  });
  return app;
}

/** `base` (PUBLIC_URL, or http://HOST) with a worker's internal port. */
function workerUrl(base: string, port: number): string {
  const url = new URL(base);
  url.port = String(port);
  return url.origin;
}

/** Where a worker reaches its peers' internal listeners: a wildcard HOST is reached on loopback. */
function loopbackFor(host: string): string {
  if (host === '0.0.0.0' || host === '') return '127.0.0.1';
  if (host === '::') return '[::1]';
  return host.includes(':') ? `[${host}]` : host;
}

/** Node-level answers (bad requests, CONNECT…) in the contract's shape on a second server. */
function installErrorHandlingOn(server: Server, app: FastifyInstance): void {
  answerNodeLevelRequests(server);
  server.on('clientError', (error: NodeJS.ErrnoException, socket) => answerClientError.call(app, error, socket));
}
