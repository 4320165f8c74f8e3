import { installErrorHandling, requireInternalToken, serviceFastifyOptions } from '@ovation/shared/server';
import Fastify, { type FastifyInstance } from 'fastify';
import type { IngestConfig } from './config.js';
import { HlsDirectories } from './hls-directories.js';
import { checkFfmpeg, ffmpegPackager, type StartPackager } from './media/packager.js';
import { createIngestMetrics } from './metrics.js';
import { MAX_BACKLOG_BYTES } from './publish-session.js';
import { Publishers } from './publishers.js';
import { healthRoutes } from './routes/health.js';
import { hlsRoutes } from './routes/hls.js';
import { RtmpServer } from './rtmp/server.js';
import { WebClient } from './web-client.js';

export interface IngestDeps {
  /** Starts a session's packager (default: ffmpeg). */
  startPackager?: StartPackager;
}

/**
 * The ingest as a Fastify app (HTTP: HLS, health, metrics) with its RTMP listener, which listens
 * when the app is ready and stops first when it closes. server.ts listens; tests listen on free ports.
 * Refuses to build without a working ffmpeg (`ffmpeg -version`).
 */
export async function buildApp(config: IngestConfig, deps: IngestDeps = {}): Promise<FastifyInstance> {
  const ffmpegVersion = await checkFfmpeg(config.ffmpeg);
  const app = Fastify({ ...serviceFastifyOptions(config.logLevel) });
  installErrorHandling(app);

  const hls = new HlsDirectories(config.hlsDir);
  const web = new WebClient(config.webUrl, config.internalToken);
  // The gauge reads the publishers when scraped, which is after they exist.
  const metrics = createIngestMetrics(() => publishers.active);
  const publishers = new Publishers({
    web,
    hls,
    startPackager: deps.startPackager ?? ffmpegPackager(config.ffmpeg),
    hlsBaseUrl: `${config.publicUrl}/hls`,
    maxPublishers: config.maxPublishers,
    limits: {
      idleMs: config.idleMs,
      segmentWaitMs: config.segmentWaitMs,
      maxBitrateKbps: config.maxBitrateKbps,
      maxBacklogBytes: MAX_BACKLOG_BYTES,
    },
    metrics,
    log: app.log,
  });
  const rtmp = new RtmpServer({
    gate: publishers,
    log: app.log,
    maxConnectionsPerAddress: config.maxConnectionsPerAddress,
    onRefusedConnection: () => metrics.connectionsRefused.inc(),
  });

  hlsRoutes(app, { hls });
  healthRoutes(app, {
    rtmpListening: () => rtmp.listening,
    ffmpegVersion,
    publishers: () => ({ active: publishers.active, max: config.maxPublishers }),
    metrics: metrics.registry,
    auth: requireInternalToken(config.internalToken),
  });

  app.addHook('onReady', async () => {
    await rtmp.listen(config.host, config.rtmpPort);
    app.log.info({ rtmpPort: rtmp.port, ffmpeg: ffmpegVersion }, 'rtmp listening');
  });
  // Stop in order: no new encoders, end the publishes (ffmpegs stopped, the web told), cut what is
  // left (encoders still in their handshake), remove the HLS files.
  app.addHook('preClose', async () => {
    rtmp.stopAccepting();
  });
  app.addHook('onClose', async () => {
    await publishers.closeAll('the ingest is stopping');
    rtmp.closeAll('the ingest is stopping');
    await hls.close();
  });
  return app;
}
