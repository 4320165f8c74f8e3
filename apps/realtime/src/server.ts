import { runService } from '@ovation/shared/server';
import { buildApp } from './app.js';
import { loadRealtimeConfig } from './config.js';

await runService('realtime', async () => {
  const config = loadRealtimeConfig();
  const app = await buildApp(config);
  await app.listen({ host: config.host, port: config.port, backlog: 4096 });
  return () => app.close();
});
