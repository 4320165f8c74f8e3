import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { isConnectionRefused, waitFor } from './poll.js';
import { freePort } from './ports.js';
import { TEST_TOKEN } from './services.js';

/*
 * The built web server (apps/web/server.mjs in front of the `next build` output) as a real
 * process, on a free port, in production mode with test secrets unless told otherwise.
 */

const WEB_DIR = fileURLToPath(new URL('../apps/web/', import.meta.url));
export const SECRETS = {
  INTERNAL_TOKEN: TEST_TOKEN,
  SESSION_SECRET: 'edge-test-session-secret-0123456789abcdef',
  CONNECT_TOKEN_SECRET: 'edge-test-connect-token-secret-0123456789',
};

export class WebProcess {
  output = '';
  exit: Promise<number | null>;

  private constructor(
    readonly port: number,
    readonly child: ChildProcess,
  ) {
    const keep = (chunk: Buffer) => {
      this.output = (this.output + chunk.toString()).slice(-20_000);
    };
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
    this.exit = new Promise((resolve) => child.once('exit', (code) => resolve(code)));
  }

  static spawn(env: Record<string, string>, port = 0): WebProcess {
    const child = spawn(process.execPath, [`${WEB_DIR}server.mjs`], {
      cwd: WEB_DIR,
      env: {
        PATH: process.env.PATH ?? '',
        HOST: '127.0.0.1',
        PORT: String(port),
        NEXT_TELEMETRY_DISABLED: '1',
        ...env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    return new WebProcess(port, child);
  }

  static async start(env: Record<string, string>): Promise<WebProcess> {
    const port = await freePort();
    // Production takes the app's origins from configuration (passkeys need them): both names of it.
    const origins = `http://127.0.0.1:${port},http://localhost:${port}`;
    const web = WebProcess.spawn({ NODE_ENV: 'production', WEB_ORIGINS: origins, ...SECRETS, ...env }, port);
    await waitFor(
      'the web server',
      async () => {
        if (web.child.exitCode !== null) throw new Error(`web exited: ${web.output}`);
        return (await fetch(`${web.url}/healthz`)).status === 200;
      },
      { timeoutMs: 30_000, intervalMs: 50, tolerate: isConnectionRefused },
    );
    return web;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /**
   * The server under a host name, as a browser using passkeys would reach it (browsers refuse
   * passkeys on an IP address): signUpOverHttp(web.browserUrl, …). Its cookies work on `url` too.
   */
  get browserUrl(): string {
    return `http://localhost:${this.port}`;
  }

  /** Resident memory of the process now, from /proc (bytes). */
  rss(): number {
    const status = readFileSync(`/proc/${this.child.pid}/status`, 'utf8');
    return Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1]) * 1024;
  }

  async stop(): Promise<number | null> {
    if (this.child.exitCode === null) this.child.kill('SIGTERM');
    return this.exit;
  }
}
