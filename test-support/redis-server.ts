import { type ChildProcess, spawn } from 'node:child_process';
import { withRedisAt } from '@ovation/shared/local-redis-cluster';
import { Redis } from 'ioredis';
import { waitFor } from './poll.js';
import { freePort } from './ports.js';

/**
 * A private redis-server for one test file, on a free port, keeping nothing on disk.
 * `restart()` brings it back on the same port, empty (what a crashed cache looks like).
 */
export class TestRedis {
  private process: ChildProcess | undefined;

  private constructor(readonly port: number) {}

  static async start(): Promise<TestRedis> {
    const redis = new TestRedis(await freePort());
    await redis.launch();
    return redis;
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  /** A client for direct checks; the caller quits it. */
  client(): Redis {
    return new Redis(this.url, { lazyConnect: false, maxRetriesPerRequest: 1 });
  }

  async stop(): Promise<void> {
    const child = this.process;
    this.process = undefined;
    if (!child || child.exitCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGKILL');
    await exited;
  }

  async restart(): Promise<void> {
    await this.stop();
    await this.launch();
  }

  private async launch(): Promise<void> {
    const child = spawn(
      'redis-server',
      ['--port', String(this.port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--loglevel', 'warning'],
      { stdio: 'ignore' },
    );
    this.process = child;
    const exited = () => new Error(`redis-server exited with ${child.exitCode}`);
    await waitFor(
      `redis-server on port ${this.port}`,
      async () => {
        if (child.exitCode !== null) throw exited();
        return (await withRedisAt(this.port, (probe) => probe.ping())) === 'PONG';
      },
      // Until it listens, connecting fails: that only means "not yet".
      { tolerate: (error) => !(error instanceof Error && error.message.startsWith('redis-server exited')) },
    );
  }
}
