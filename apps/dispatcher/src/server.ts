import { runService } from '@ovation/shared/server';
import { buildApp } from './app.js';
import { loadDispatcherConfig } from './config.js';

await runService('dispatcher', async () => {
  const config = loadDispatcherConfig();
  const app = await buildApp(config);
  await app.listen({ host: config.host, port: config.port });
  return () => app.close();
});
