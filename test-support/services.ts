import { fileURLToPath } from 'node:url';
import { execa, type ResultPromise } from 'execa';
import { isConnectionRefused, waitFor } from './poll.js';
import { reservePort } from './ports.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

export const TEST_TOKEN = 'test-internal-token-0123456789';

/**
 * Only the environment given, output kept by the listeners below, an exit is no rejection, and no
 * SIGKILL after a SIGTERM (execa's default after 5 s): a draining node takes as long as it takes.
 */
const SPAWN = { extendEnv: false, stdin: 'ignore', buffer: false, reject: false, forceKillAfterDelay: false } as const;

/**
 * A built Ovation service (`apps/<tier>/dist/server.js`) run as a real child process on a free
 * port. Its output is kept for failure messages; `kill` can SIGKILL it like a crashed machine.
 * Started with execa: should the test process die before killing it, it goes too (`cleanup`).
 */
export class ServiceProcess {
  private output = '';

  private constructor(
    readonly name: string,
    readonly port: number,
    private readonly child: ResultPromise<typeof SPAWN>,
  ) {
    const keep = (chunk: Buffer) => {
      this.output = (this.output + chunk.toString()).slice(-20_000);
    };
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
  }

  static async start(
    tier: 'dispatcher' | 'realtime',
    env: Record<string, string>,
    name: string = tier,
    /** A given port (to restart a service where its peers expect it); default a free one. */
    port?: number,
  ): Promise<ServiceProcess> {
    port ??= await reservePort();
    const child = execa(process.execPath, [`${ROOT}apps/${tier}/dist/server.js`], {
      env: {
        PATH: process.env.PATH ?? '',
        HOST: '127.0.0.1',
        PORT: String(port),
        LOG_LEVEL: 'warn',
        INTERNAL_TOKEN: TEST_TOKEN,
        ...env,
      },
      ...SPAWN,
    });
    const service = new ServiceProcess(name, port, child);
    await service.waitHealthy();
    return service;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  get logs(): string {
    return this.output;
  }

  get exited(): boolean {
    const { exitCode, signalCode } = this.child.nodeChildProcess;
    return exitCode !== null || signalCode !== null;
  }

  async waitHealthy(timeoutMs = 15_000): Promise<void> {
    await waitFor(
      `${this.name} /healthz`,
      async () => {
        if (this.exited) throw new Error(`${this.name} exited: ${this.output}`);
        const response = await fetch(`${this.url}/healthz`);
        return response.status === 200;
      },
      { timeoutMs, intervalMs: 50, tolerate: isConnectionRefused },
    );
  }

  async kill(signal: NodeJS.Signals = 'SIGTERM'): Promise<number | null> {
    if (this.exited) return this.child.nodeChildProcess.exitCode;
    this.child.kill(signal);
    return (await this.child).exitCode ?? null;
  }
}
