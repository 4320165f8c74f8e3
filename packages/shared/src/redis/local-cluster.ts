import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Redis } from 'ioredis';
import { reserveClusterNodePort } from '../server/ports.js';
import { openRedis, type RedisClient, slotOf } from './index.js';

const run = promisify(execFile);

/**
 * A private Redis Cluster on this machine, for tests and benchmarks (`@ovation/shared/local-redis-cluster`):
 * `masters` masters with one replica each, on free ports, keeping nothing on disk (each node's
 * cluster config in a temporary folder). Nodes time out after `nodeTimeoutMs`, so a killed
 * master's replica takes over within about two of them. Needs redis-server and redis-cli.
 */
export class LocalRedisCluster {
  private readonly processes = new Map<number, ChildProcess>();

  private constructor(
    readonly ports: number[],
    private readonly dir: string,
    private readonly nodeTimeoutMs: number,
  ) {}

  static async start(options: { masters?: number; nodeTimeoutMs?: number } = {}): Promise<LocalRedisCluster> {
    const masters = options.masters ?? 3;
    const ports = await clusterPorts(masters * 2);
    const cluster = new LocalRedisCluster(
      ports,
      mkdtempSync(join(tmpdir(), 'ovation-cluster-')),
      options.nodeTimeoutMs ?? 1000,
    );
    try {
      await Promise.all(ports.map((port) => cluster.launch(port)));
      await formCluster(ports);
      await cluster.waitHealthy();
    } catch (error) {
      await cluster.stop();
      throw error;
    }
    return cluster;
  }

  /** `REDIS_CLUSTER_NODES` for services: every node as a seed. */
  get seeds(): string {
    return this.ports.map((port) => `127.0.0.1:${port}`).join(',');
  }

  /** A client as the services open one (fail fast, never resend); the caller quits it. */
  client(): RedisClient {
    const client = openRedis(
      { kind: 'cluster', nodes: this.ports.map((port) => ({ host: '127.0.0.1', port })) },
      {
        commandTimeoutMs: 2000,
        maxRetriesPerRequest: 1,
      },
    );
    // Failures surface through the commands; a node that went away is not an unhandled event.
    client.on('error', () => {});
    return client;
  }

  /** Stops a node's process where it is (SIGSTOP): it neither answers nor replicates until `resume`. */
  pause(port: number): void {
    this.processes.get(port)?.kill('SIGSTOP');
  }

  /** Lets a paused node go on (SIGCONT). */
  resume(port: number): void {
    this.processes.get(port)?.kill('SIGCONT');
  }

  /** The port of a master's replica (its first), from the master's INFO replication. */
  async replicaOf(masterPort: number): Promise<number> {
    const replication = await withRedisAt(masterPort, (probe) => probe.info('replication'));
    const match = /slave0:ip=[^,]+,port=(\d+)/.exec(replication);
    if (!match?.[1]) throw new Error(`master ${masterPort} has no replica`);
    return Number(match[1]);
  }

  /** The live nodes' ports and process ids. */
  processIds(): Array<{ port: number; pid: number }> {
    return this.livePorts().map((port) => ({ port, pid: this.processes.get(port)?.pid ?? 0 }));
  }

  /** The ports of the nodes that are masters now. */
  async masterPorts(): Promise<number[]> {
    const masters: number[] = [];
    for (const port of this.livePorts()) if (await isMasterAt(port)) masters.push(port);
    return masters;
  }

  /** The port of the master that holds `key`'s slot now. */
  async masterPortOf(key: string): Promise<number> {
    const slot = slotOf(key);
    for (const port of this.livePorts()) {
      // A node that is down or not answering: ask the next.
      const ranges = await withRedisAt(port, clusterSlots).catch(() => []);
      const owner = ranges.find(([from, to]) => slot >= from && slot <= to);
      if (owner) return owner[2][1];
    }
    throw new Error(`no node knows the master of slot ${slot}`);
  }

  /** Kills one node at once (SIGKILL: no goodbye, as a crashed machine). */
  async kill(port: number): Promise<void> {
    const child = this.processes.get(port);
    this.processes.delete(port);
    if (!child || child.exitCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGKILL');
    await exited;
  }

  /**
   * Starts a killed node again from its cluster config (its data is gone: nothing is saved). It
   * rejoins as a replica of the master that took its slots over and copies that master's data.
   */
  async restart(port: number): Promise<void> {
    if (this.processes.get(port)?.exitCode === null) return;
    await this.launch(port);
  }

  /**
   * Until every live node says the cluster is ok, every slot has a live master, and every master's
   * replicas are in sync.
   */
  async waitHealthy(timeoutMs = 30_000): Promise<void> {
    await until('the Redis Cluster to be ok on every node', () => clusterHealthy(this.livePorts()), {
      timeoutMs,
      intervalMs: 50,
    });
  }

  async stop(): Promise<void> {
    await Promise.all([...this.processes.keys()].map((port) => this.kill(port)));
    rmSync(this.dir, { recursive: true, force: true });
  }

  private livePorts(): number[] {
    return this.ports.filter((port) => this.processes.get(port)?.exitCode === null);
  }

  private async launch(port: number): Promise<void> {
    const child = spawn('redis-server', clusterNodeArgs(port, this.dir, this.nodeTimeoutMs), { stdio: 'ignore' });
    this.processes.set(port, child);
    await until(`redis-server (cluster node) on port ${port}`, async () => {
      if (child.exitCode !== null) throw new Error(`redis-server exited with ${child.exitCode}`);
      return (await withRedisAt(port, (probe) => probe.ping())) === 'PONG';
    });
  }
}

/**
 * The arguments of `redis-server` for one node of a private cluster on 127.0.0.1:`port`, keeping
 * nothing on disk but its cluster config (in `dir`, so a restarted node rejoins as itself). Nodes
 * time out after `nodeTimeoutMs`: a dead master's replica takes over within about two of them.
 */
export function clusterNodeArgs(port: number, dir: string, nodeTimeoutMs: number): string[] {
  return [
    '--port',
    String(port),
    '--bind',
    '127.0.0.1',
    '--save',
    '',
    '--appendonly',
    'no',
    '--loglevel',
    'warning',
    '--dir',
    dir,
    '--cluster-enabled',
    'yes',
    '--cluster-config-file',
    join(dir, `nodes-${port}.conf`),
    '--cluster-node-timeout',
    String(nodeTimeoutMs),
    // A replica's first sync starts at once (the default waits 5 s for more replicas to join).
    '--repl-diskless-sync-delay',
    '0',
  ];
}

/** Forms a cluster of the running nodes on `ports` (half masters, a replica each) with redis-cli. */
export async function formCluster(ports: readonly number[]): Promise<void> {
  await run('redis-cli', [
    '--cluster',
    'create',
    ...ports.map((port) => `127.0.0.1:${port}`),
    '--cluster-replicas',
    '1',
    '--cluster-yes',
  ]);
}

/**
 * Whether the live nodes on `livePorts` make a whole cluster: every node says the cluster is ok and
 * sees the same masters, all of them live (a killed one is listed until its replica took over; a
 * master replaced while it was stopped sees itself until it hears so); every other live node is a
 * replica of one of them, linked and not copying. A node that does not answer throws (not yet).
 */
export async function clusterHealthy(livePorts: readonly number[]): Promise<boolean> {
  const views = new Set<string>();
  const owners = new Set<number>();
  const roles = new Map<number, string>();
  for (const port of livePorts) {
    const healthy = await withRedisAt(port, async (probe) => {
      const info = String(await probe.call('CLUSTER', 'INFO'));
      if (!info.includes('cluster_state:ok') || !info.includes('cluster_slots_ok:16384')) return false;
      const masters = [...new Set((await clusterSlots(probe)).map((range) => range[2][1]))].sort((a, b) => a - b);
      if (masters.some((master) => !livePorts.includes(master))) return false;
      views.add(masters.join(','));
      for (const master of masters) owners.add(master);
      roles.set(port, await probe.info('replication'));
      return true;
    });
    if (!healthy) return false;
  }
  if (views.size > 1) return false;
  return livePorts.every((port) => {
    const replication = roles.get(port) ?? '';
    if (owners.has(port)) return replication.includes('role:master');
    const master = Number(/^master_port:(\d+)/m.exec(replication)?.[1]);
    return (
      replication.includes('role:slave') &&
      replication.includes('master_link_status:up') &&
      replication.includes('master_sync_in_progress:0') &&
      owners.has(master)
    );
  });
}

/** Whether a node answers as a master now (its INFO replication). */
export async function isMasterAt(port: number): Promise<boolean> {
  return (await withRedisAt(port, (probe) => probe.info('replication'))).includes('role:master');
}

/**
 * Runs `use` on a one-off connection to the Redis on 127.0.0.1:`port` (no retries: one that is not
 * up fails at once), closed afterwards. For tests and benchmarks that look at a server directly.
 */
export async function withRedisAt<T>(port: number, use: (probe: Redis) => Promise<T>): Promise<T> {
  // Bounded: a stopped node accepts the connection and never answers.
  const probe = new Redis(port, '127.0.0.1', {
    lazyConnect: true,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
    enableReadyCheck: false,
    connectTimeout: 2000,
    commandTimeout: 2000,
  });
  probe.on('error', () => {});
  try {
    await probe.connect();
    return await use(probe);
  } finally {
    probe.disconnect();
  }
}

/** CLUSTER SLOTS: per range of slots, [first, last, [master host, master port], …replicas]. */
async function clusterSlots(probe: Redis): Promise<Array<[number, number, [string, number]]>> {
  return (await probe.call('CLUSTER', 'SLOTS')) as Array<[number, number, [string, number]]>;
}

/**
 * `count` distinct free ports whose cluster bus ports (+10000) are free too, both below the
 * ephemeral range (reserveClusterNodePort): a node restarted on its port must find it free, and
 * one from the ephemeral range can be taken meanwhile as an outgoing connection's source port.
 */
export async function clusterPorts(count: number): Promise<number[]> {
  const ports: number[] = [];
  while (ports.length < count) ports.push(await reserveClusterNodePort());
  return ports;
}

/**
 * Polls `check` until it is true, or fails naming `what` after `timeoutMs`. Errors the check throws
 * only mean "not yet" (a node still starting); the last is named on timeout.
 */
async function until(
  what: string,
  check: () => Promise<boolean>,
  { timeoutMs = 10_000, intervalMs = 20 }: { timeoutMs?: number; intervalMs?: number } = {},
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      if (await check()) return;
    } catch (error) {
      if (error instanceof Error && error.message.startsWith('redis-server exited')) throw error;
      lastError = error;
    }
    if (Date.now() > deadline) {
      const cause = lastError instanceof Error ? ` (last error: ${lastError.message})` : '';
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${cause}`);
    }
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}
