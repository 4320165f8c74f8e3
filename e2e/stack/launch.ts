import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { freePort } from '@ovation/shared/server';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

export interface RunningStack {
  webUrl: string;
  realtimeUrl: string;
  dispatcherUrl: string;
  logs(): string;
  stop(): Promise<void>;
}

/**
 * Starts the product as `npm start` does (scripts/start.mjs: dispatcher, realtime node, web), on
 * free ports, and waits until it says it is running. Reusable by hand:
 *   node --experimental-strip-types e2e/stack/launch.ts   (or via the Playwright global setup)
 */
export async function launchStack(): Promise<RunningStack> {
  const [web, dispatcher, realtime] = await Promise.all([freePort(), freePort(), freePort()]);
  let output = '';
  const child: ChildProcess = spawn(process.execPath, [`${ROOT}scripts/start.mjs`], {
    cwd: ROOT,
    env: {
      ...process.env,
      WEB_PORT: String(web),
      DISPATCHER_PORT: String(dispatcher),
      REALTIME_PORT: String(realtime),
      LOG_LEVEL: 'warn',
      NEXT_TELEMETRY_DISABLED: '1',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const keep = (chunk: Buffer) => {
    output = (output + chunk.toString()).slice(-50_000);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);

  const deadline = Date.now() + 180_000;
  while (!output.includes('Ovation is running')) {
    if (child.exitCode !== null) throw new Error(`the stack exited while starting:\n${output}`);
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`the stack did not start within 180 s:\n${output}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  return {
    webUrl: `http://127.0.0.1:${web}`,
    realtimeUrl: `http://127.0.0.1:${realtime}`,
    dispatcherUrl: `http://127.0.0.1:${dispatcher}`,
    logs: () => output,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGINT');
        setTimeout(() => child.kill('SIGKILL'), 20_000).unref();
      }),
  };
}
