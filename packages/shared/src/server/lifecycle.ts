import { ConfigError } from '../config.js';

/** What the process-wide policy has seen; services expose it on /metrics. */
export const processFaults = { unhandledRejections: 0 };

/**
 * The process-wide policy for errors nothing caught. A rejected promise nobody awaited is logged
 * (one JSON line on stderr, like the service's own logs) and counted, and the process goes on: a
 * stray rejection must not take a node's 19,000 viewers down with it, and no code path may rely on
 * one. An exception nothing caught leaves the process in an unknown state: it is logged and the
 * process exits, so its supervisor restarts it rather than leaving it hung.
 */
export function installProcessPolicy(name: string): void {
  const line = (level: number, msg: string, error: unknown) =>
    `${JSON.stringify({
      level,
      time: Date.now(),
      service: name,
      msg,
      err: error instanceof Error ? { message: error.message, stack: error.stack } : String(error),
    })}\n`;
  process.on('unhandledRejection', (reason) => {
    processFaults.unhandledRejections++;
    process.stderr.write(line(50, 'unhandled rejection', reason));
  });
  process.on('uncaughtException', (error) => {
    process.stderr.write(line(60, 'uncaught exception; exiting', error));
    process.exit(1);
  });
}

/**
 * Runs a service's start function under the process-wide policy (installProcessPolicy); a bad
 * configuration prints one line naming the variable and exits 1, and SIGINT/SIGTERM call the
 * returned stop function once.
 */
export async function runService(name: string, start: () => Promise<() => Promise<void>>): Promise<void> {
  installProcessPolicy(name);
  let stop: () => Promise<void>;
  try {
    stop = await start();
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`${name}: ${error.message}\n`);
    } else {
      process.stderr.write(`${name}: failed to start: ${error instanceof Error ? error.message : String(error)}\n`);
    }
    process.exit(1);
  }
  let stopping = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    stop().then(
      () => process.exit(0),
      (error: unknown) => {
        process.stderr.write(`${name}: error while stopping on ${signal}: ${String(error)}\n`);
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
}
