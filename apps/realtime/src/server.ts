import cluster from 'node:cluster';
import { runService, startTracing } from '@ovation/shared/server';
import { buildApp } from './app.js';
import { ClusterPeers } from './cluster/peers.js';
import { startPrimary } from './cluster/primary.js';
import { loadRealtimeConfig } from './config.js';

await runService('realtime', async () => {
  const config = loadRealtimeConfig();
  // WORKERS > 1: this process only forks and watches the workers (cluster/primary.ts).
  if (config.workers > 1 && cluster.isPrimary) return startPrimary(config);
  const peers = config.workerIndex === undefined ? undefined : new ClusterPeers(config.workerIndex);
  const tracing = startTracing({ serviceName: 'ovation-realtime', endpoint: config.otlpEndpoint });
  const app = await buildApp(config, peers ? { cluster: peers } : {});
  await app.listen({ host: config.host, port: config.port, backlog: 4096 });
  return async () => {
    await app.close();
    await tracing.shutdown();
  };
});
