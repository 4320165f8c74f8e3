import { runService, startTracing } from '@ovation/shared/server';
import { buildApp } from './app.js';
import { loadDispatcherConfig } from './config.js';

await runService('dispatcher', async () => {
  const config = loadDispatcherConfig();
  const tracing = startTracing({ serviceName: 'ovation-dispatcher', endpoint: config.otlpEndpoint });
  const app = await buildApp(config);
  await app.listen({ host: config.host, port: config.port });
  return async () => {
    await app.close();
    await tracing.shutdown();
  };
});
