import { randomTag } from '@ovation/shared';
import { installErrorHandling, requireInternalToken, serviceFastifyOptions } from '@ovation/shared/server';
import Fastify, { type FastifyInstance } from 'fastify';
import type { DispatcherConfig } from './config.js';
import { NodeChannels } from './fanout/node-channel.js';
import { createPublisher } from './fanout/publisher.js';
import { createDispatcherMetrics } from './metrics.js';
import { openRegistry, type RegistryHandle } from './plugins/registry.js';
import { PresenceDuty } from './presence/presence-duty.js';
import { PresenceForwarder } from './relay/presence-forward.js';
import { Relay } from './relay/relayer.js';
import { catchUpRoutes } from './routes/catch-up.js';
import { healthRoutes } from './routes/health.js';
import { nodeRoutes } from './routes/nodes.js';
import { openApiRoutes } from './routes/openapi.js';
import { presenceRoutes } from './routes/presence.js';
import { publishRoutes } from './routes/publish.js';
import { relayRoutes } from './routes/relay.js';
import { topicRoutes } from './routes/topics.js';
import { StoreRecovery } from './store-recovery.js';
import { ViewerCounter } from './viewer-counts.js';

/**
 * After the store lost its data, publishes wait at most this long for the nodes to sync again (a
 * node with 100,000 topics takes ~10 s on a 2-core machine; see StoreRecovery).
 */
const STORE_RECOVERY_MAX_MS = 30_000;

export interface DispatcherDeps {
  /** A registry store to use instead of opening one from the config (tests). */
  store?: RegistryHandle;
}

/** The dispatcher as a Fastify app; server.ts listens, tests `inject` or listen on port 0. */
export async function buildApp(config: DispatcherConfig, deps: DispatcherDeps = {}): Promise<FastifyInstance> {
  const app = Fastify({
    ...serviceFastifyOptions(config.logLevel),
  });
  installErrorHandling(app);

  const dispatcherId = `${config.region}-${randomTag()}`;
  const metrics = createDispatcherMetrics();
  const store =
    deps.store ??
    openRegistry({
      ...config,
      peers: config.peers.map((p) => p.region),
      onOutboxDropped: (peer, events) => metrics.relayDropped.inc({ peer }, events),
      presence: config.presence,
    });
  const channels = new NodeChannels(config.internalToken, metrics, (nodeId) => store.registry.nodeAlive(nodeId));
  const recovery = new StoreRecovery(Math.max(config.nodeTtlMs, STORE_RECOVERY_MAX_MS), {
    synced: (nodeIds) => store.registry.syncedNodes(nodeIds),
    alive: (nodeId) => store.registry.nodeAlive(nodeId),
  });
  store.onStoreLost((liveNodes) => {
    recovery.lost(liveNodes);
    viewerCounter?.forget();
    app.log.warn({ nodes: liveNodes.length }, 'Redis lost its data; publishes wait for the nodes to re-register');
  });
  // Other regions: accepted events are relayed to each (relay/), viewer counts exchanged.
  const relay =
    config.peers.length > 0
      ? new Relay(config.peers, store.outbox, {
          token: config.internalToken,
          metrics,
          claim: (peer, ttlMs, fresh) => store.registry.claimDuty(`relay:${peer}`, dispatcherId, ttlMs, fresh),
          release: (peer) => store.registry.releaseDuty(`relay:${peer}`, dispatcherId),
        })
      : undefined;
  const publisher = createPublisher({
    log: store.log,
    channels,
    region: config.region,
    metrics,
    recovery,
    ...(relay ? { relay } : {}),
  });
  const auth = requireInternalToken(config.internalToken);
  const viewerCounter = new ViewerCounter({
    registry: store.registry,
    publisher,
    ...(relay
      ? { pushCounts: (counts, ttlMs) => relay.pushCounts(config.region, counts, ttlMs, config.internalToken) }
      : {}),
    holderId: dispatcherId,
    paused: () => recovery.recovering(),
    shown: (topics) => store.log.viewerCounts(topics),
    intervalMs: config.viewerCountIntervalMs,
    log: app.log,
  });

  const presenceDuty = new PresenceDuty({
    store: store.presence,
    duties: store.registry,
    publisher,
    holderId: dispatcherId,
    intervalMs: config.presence.intervalMs,
    log: app.log,
  });

  publishRoutes(app, { publisher, auth });
  // Other regions take every node report too: each region's store holds every region's viewers.
  const forwarders = (relay?.peerRegions ?? []).map(
    (peer) =>
      new PresenceForwarder({
        region: config.region,
        push: (message) => (relay as Relay).pushPresence(peer, message, config.internalToken),
        intervalMs: Math.min(250, config.presence.intervalMs),
        log: app.log,
      }),
  );
  presenceRoutes(app, {
    store: store.presence,
    refreshMs: config.presence.refreshMs,
    forward: (topics) => {
      for (const forwarder of forwarders) forwarder.add(topics);
    },
    metrics,
    auth,
  });
  topicRoutes(app, { registry: store.registry, region: config.region, auth });
  relayRoutes(app, { publisher, registry: store.registry, presence: store.presence, region: config.region, auth });
  catchUpRoutes(app, {
    log: store.log,
    registry: store.registry,
    limits: config.topicLog,
    region: config.region,
    metrics,
    auth,
  });
  nodeRoutes(app, { registry: store.registry, log: store.log, nodeTtlMs: config.nodeTtlMs, metrics, auth });
  healthRoutes(app, { store, metrics: metrics.registry, auth });
  openApiRoutes(app);

  // Housekeeping: expired nodes leave the registry; channels to departed nodes are closed.
  const sweeper = setInterval(
    () => {
      store.registry.sweepExpired().catch((error: unknown) => app.log.debug({ err: error }, 'sweep failed'));
      channels.closeIdle(config.nodeTtlMs * 4);
      store.log.sweep();
    },
    Math.max(250, Math.floor(config.nodeTtlMs / 2)),
  );
  sweeper.unref();

  app.addHook('onReady', async () => {
    viewerCounter.start();
    presenceDuty.start();
    for (const forwarder of forwarders) forwarder.start();
    relay?.start();
  });
  app.addHook('onClose', async () => {
    clearInterval(sweeper);
    await viewerCounter.stop();
    await presenceDuty.stop();
    for (const forwarder of forwarders) forwarder.stop();
    await relay?.close();
    await channels.closeAll();
    if (!deps.store) await store.close();
  });
  return app;
}
