import { withRedisAt } from '@ovation/shared/local-redis-cluster';
import { execa, type ResultPromise } from 'execa';
import { Redis } from 'ioredis';
import { waitFor } from './poll.js';
import { reservePort } from './ports.js';

/**
 * A private redis-server for one test file, on a free port, keeping nothing on disk.
 * `restart()` brings it back on the same port, empty (what a crashed cache looks like).
 * Started with execa: should the test process die before stopping it, it goes too (`cleanup`).
 */
export class TestRedis {
  private process: ResultPromise<{ stdio: 'ignore'; reject: false }> | undefined;

  private constructor(readonly port: number) {}

  static async start(): Promise<TestRedis> {
    const redis = new TestRedis(await reservePort());
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
    if (child?.kill('SIGKILL')) await child;
  }

  async restart(): Promise<void> {
    await this.stop();
    await this.launch();
  }

  private async launch(): Promise<void> {
    const child = execa(
      'redis-server',
      ['--port', String(this.port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--loglevel', 'warning'],
      { stdio: 'ignore', reject: false },
    );
    this.process = child;
    const exited = () => new Error(`redis-server exited with ${child.nodeChildProcess.exitCode}`);
    await waitFor(
      `redis-server on port ${this.port}`,
      async () => {
        if (child.nodeChildProcess.exitCode !== null) throw exited();
        return (await withRedisAt(this.port, (probe) => probe.ping())) === 'PONG';
      },
      // Until it listens, connecting fails: that only means "not yet".
      { tolerate: (error) => !(error instanceof Error && error.message.startsWith('redis-server exited')) },
    );
  }
}
