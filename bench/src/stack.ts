import { type ChildProcess, spawn } from 'node:child_process';
import { createConnection } from 'node:net';
import { fileURLToPath } from 'node:url';
import { LocalRedisCluster } from '@ovation/shared/local-redis-cluster';
import { freePort } from '@ovation/shared/server';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const BENCH_TOKEN = 'bench-internal-token-0123456789';

let profileDir: string | undefined;
let extraNodeArgs: string[] = [];

/** From now on, services write a V8 CPU profile (`--cpu-prof`) into `dir` when they stop. */
export function profileServicesInto(dir: string): void {
  profileDir = dir;
}

/** From now on, services (and the reference server) start with these extra Node/V8 flags. */
export function setServiceNodeArgs(args: string[]): void {
  extraNodeArgs = args;
}

export interface RunningProcess {
  name: string;
  url: string;
  pid: number;
  stop(): Promise<void>;
}

function stopper(child: ChildProcess): () => Promise<void> {
  return () =>
    new Promise<void>((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) return resolve();
      child.once('exit', () => resolve());
      child.kill('SIGTERM');
      setTimeout(() => child.kill('SIGKILL'), 5000).unref();
    });
}

async function waitHealthy(name: string, url: string, child: ChildProcess): Promise<void> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`${name} exited with ${child.exitCode}`);
    try {
      if ((await fetch(`${url}/healthz`)).ok) return;
    } catch {}
    if (Date.now() > deadline) throw new Error(`${name} not healthy within 20 s`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** A built tier (`apps/<tier>/dist/server.js`) on a free loopback port, healthy. */
export async function startService(
  tier: 'dispatcher' | 'realtime',
  env: Record<string, string>,
  name: string = tier,
): Promise<RunningProcess> {
  const port = await freePort();
  const profile = profileDir
    ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`, `--cpu-prof-name=${name}.cpuprofile`]
    : [];
  const child = spawn(process.execPath, [...extraNodeArgs, ...profile, `${ROOT}apps/${tier}/dist/server.js`], {
    env: {
      PATH: process.env.PATH ?? '',
      HOST: '127.0.0.1',
      PORT: String(port),
      LOG_LEVEL: 'warn',
      INTERNAL_TOKEN: BENCH_TOKEN,
      // Every load generator connects from loopback: past the per-address bound of a real node.
      ...(tier === 'realtime' ? { MAX_CONNECTIONS_PER_IP: '1000000' } : {}),
      ...env,
    },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  const url = `http://127.0.0.1:${port}`;
  await waitHealthy(name, url, child);
  return { name, url, pid: child.pid ?? 0, stop: stopper(child) };
}

/** The bare node:http SSE reference server (reference-server.ts). */
export async function startReference(): Promise<RunningProcess> {
  const port = await freePort();
  const file = fileURLToPath(new URL('./reference-server.js', import.meta.url));
  const child = spawn(process.execPath, [file], {
    env: { PORT: String(port) },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  const url = `http://127.0.0.1:${port}`;
  await waitHealthy('reference', url, child);
  return { name: 'reference', url, pid: child.pid ?? 0, stop: stopper(child) };
}

/** A private redis-server on a free port, keeping nothing on disk. */
export async function startRedis(): Promise<RunningProcess> {
  const port = await freePort();
  const child = spawn(
    'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
    {
      stdio: 'ignore',
    },
  );
  const deadline = Date.now() + 10_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error('redis-server exited');
    const up = await new Promise<boolean>((resolve) => {
      const socket = createConnection(port);
      socket.once('connect', () => {
        socket.end('PING\r\n');
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
    if (up) break;
    if (Date.now() > deadline) throw new Error('redis-server not up within 10 s');
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return { name: 'redis', url: `redis://127.0.0.1:${port}`, pid: child.pid ?? 0, stop: stopper(child) };
}

/**
 * A private Redis Cluster (3 masters + 3 replicas) as bench processes: the masters (one shard
 * each), for CPU per shard, and the seeds for REDIS_CLUSTER_NODES.
 */
export async function startRedisCluster(): Promise<{ seeds: string; shards: RunningProcess[]; stop(): Promise<void> }> {
  const cluster = await LocalRedisCluster.start();
  const masters = await cluster.masterPorts();
  const shards = cluster
    .processIds()
    .filter(({ port }) => masters.includes(port))
    .map(({ port, pid }, i) => ({
      name: `redis shard ${i + 1}`,
      url: `redis://127.0.0.1:${port}`,
      pid,
      stop: async () => {},
    }));
  return { seeds: cluster.seeds, shards, stop: () => cluster.stop() };
}

/** One dispatcher and `nodes` realtime nodes, memory or Redis registry (one server or a cluster). */
export async function startStack(options: {
  engine: 'memory' | 'redis' | 'cluster';
  nodes: number;
  realtimeEnv?: Record<string, string>;
  dispatcherEnv?: Record<string, string>;
}): Promise<{
  dispatcher: RunningProcess;
  nodes: RunningProcess[];
  redis?: RunningProcess;
  /** With the cluster engine: its masters. */
  shards?: RunningProcess[];
  stop(): Promise<void>;
}> {
  const started: RunningProcess[] = [];
  const stopAll = async () => {
    // Nodes first (they unregister), then the dispatcher, Redis last.
    for (const group of [
      started.filter((p) => p.name.startsWith('realtime')),
      started.filter((p) => !p.name.startsWith('realtime')),
    ]) {
      await Promise.all(group.reverse().map((p) => p.stop()));
    }
  };
  try {
    const redis = options.engine === 'redis' ? await startRedis() : undefined;
    if (redis) started.push(redis);
    const cluster = options.engine === 'cluster' ? await startRedisCluster() : undefined;
    if (cluster) started.push({ name: 'redis cluster', url: cluster.seeds, pid: 0, stop: cluster.stop });
    const dispatcher = await startService('dispatcher', {
      ...(redis ? { REDIS_URL: redis.url, REDIS_PREFIX: 'bench' } : {}),
      ...(cluster ? { REDIS_CLUSTER_NODES: cluster.seeds, REDIS_PREFIX: 'bench' } : {}),
      ...options.dispatcherEnv,
    });
    started.push(dispatcher);
    const nodes: RunningProcess[] = [];
    for (let i = 0; i < options.nodes; i++) {
      const node = await startService(
        'realtime',
        { DISPATCHER_URLS: dispatcher.url, NODE_ID: `bench-node-${i + 1}`, ...options.realtimeEnv },
        `realtime-${i + 1}`,
      );
      started.push(node);
      nodes.push(node);
    }
    return {
      dispatcher,
      nodes,
      ...(redis ? { redis } : {}),
      ...(cluster ? { shards: cluster.shards } : {}),
      stop: stopAll,
    };
  } catch (error) {
    await stopAll();
    throw error;
  }
}
