import { runService } from '@ovation/shared/server';
import { buildApp } from './app.js';
import { loadIngestConfig } from './config.js';

await runService('ingest', async () => {
  const config = loadIngestConfig();
  const app = await buildApp(config);
  await app.listen({ host: config.host, port: config.port });
  return () => app.close();
});
