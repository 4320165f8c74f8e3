import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { FullConfig } from '@playwright/test';
import { launchStack } from './launch.js';

/** Starts the real stack once for all suites; the returned function tears it down (after failures too). */
export default async function globalSetup(_config: FullConfig): Promise<() => Promise<void>> {
  const stack = await launchStack();
  process.env.OVATION_WEB_URL = stack.webUrl;
  process.env.OVATION_DISPATCHER_URL = stack.dispatcherUrl;
  process.env.OVATION_REALTIME_URL = stack.realtimeUrl;
  return async () => {
    const logFile = fileURLToPath(new URL('../test-results/stack.log', import.meta.url));
    try {
      writeFileSync(logFile, stack.logs());
    } catch {}
    await stack.stop();
  };
}
