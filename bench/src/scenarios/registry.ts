import { createServer, type Server } from 'node:http';
import { Redis } from 'ioredis';
import { Agent, request } from 'undici';
import { CpuMeter } from '../proc-stats.js';
import { cpuRows, fmt, type Rows } from '../report.js';
import { BENCH_TOKEN, type RunningProcess, startRedis, startRedisCluster, startService } from '../stack.js';

/*
 * The registry at scale, simulated: `nodes` realtime nodes (simulated in this process, speaking
 * the node protocol over HTTP to 2 real dispatchers) heartbeat (every `heartbeatMs`), holding `topics` topics between them, with churn — against one Redis server and against a
 * Redis Cluster (3 masters + 3 replicas), in the same run. Reports Redis commands/s and CPU per
 * shard, so the cost per node and per topic is known.
 *
 * Each node holds POPULAR topics of the most watched ones (every node has viewers there) and a
 * share of the long tail (each tail topic on one node), so the topics total `topics`. Every
 * heartbeat carries the counts of CHANGED_SHARE of its topics, and with it CHURN_SHARE of its tail
 * topics leave and as many new ones arrive (POST /internal/nodes/topics). The dispatchers run their
 * duties as deployed: viewer counts every 2 s, node sweeps, the node table refreshed per publish.
 */

export interface RegistryOptions {
  seconds: number;
  nodes: number;
  topics: number;
  /**
   * Each simulated node's heartbeat interval. Real nodes beat every second (NODE_HEARTBEAT_MS);
   * 1,000 of them at that rate saturate this 2-core machine's dispatchers and the simulator before
   * Redis, so the default offers a quarter of it and the costs are reported per heartbeat, then
   * scaled to 1,000 nodes at 1 s.
   */
  heartbeatMs: number;
}

const POPULAR = 100;
const CHANGED_SHARE = 0.1;
const CHURN_SHARE = 0.02;
const PART = 5000;

interface SimNode {
  id: string;
  popular: string[];
  tail: string[];
  next: number;
}

interface StoreRun {
  store: string;
  registerMs: number;
  heartbeatsPerSecond: number;
  /** Heartbeats or topic changes that failed (an error, or a resync asked in steady state). */
  failed: number;
  /** Heartbeats not sent because 256 were still in flight: the store did not keep up. */
  behind: number;
  shards: Array<{ name: string; commandsPerSecond: number; cpu: number }>;
  dispatcherCpu: number;
}

export async function runRegistry(options: RegistryOptions): Promise<{ rows: Rows; result: object; ok: boolean }> {
  const sink = await startSink();
  const sinkUrl = `http://127.0.0.1:${(sink.address() as { port: number }).port}`;
  const runs: StoreRun[] = [];
  const cpuOut: Rows = [];
  try {
    for (const store of ['one server', 'cluster'] as const) {
      const redis = store === 'one server' ? await startRedis() : undefined;
      const cluster = store === 'cluster' ? await startRedisCluster() : undefined;
      const shards: RunningProcess[] = redis ? [{ ...redis, name: 'redis' }] : (cluster?.shards ?? []);
      const env: Record<string, string> = {
        ...(redis ? { REDIS_URL: redis.url } : { REDIS_CLUSTER_NODES: cluster?.seeds ?? '' }),
        REDIS_PREFIX: 'bench',
        NODE_TTL_MS: String(options.heartbeatMs * 5),
      };
      const dispatchers = [
        await startService('dispatcher', env, 'dispatcher-1'),
        await startService('dispatcher', env, 'dispatcher-2'),
      ];
      try {
        const run = await simulate(store, options, dispatchers, shards, sinkUrl);
        runs.push(run.summary);
        cpuOut.push(...cpuRows(run.cpu).map(([k, v]): [string, string | number] => [`${store}: ${k}`, v]));
      } finally {
        await Promise.all(dispatchers.map((d) => d.stop()));
        await redis?.stop();
        await cluster?.stop();
      }
    }
  } finally {
    sink.close();
  }

  const rows: Rows = [
    ['simulated nodes', fmt(options.nodes)],
    ['topics', `${fmt(options.topics)} (${POPULAR} popular on every node, the tail one node each)`],
    [
      'heartbeat',
      `every ${fmt(options.heartbeatMs)} ms (${fmt((options.nodes * 1000) / options.heartbeatMs)}/s offered), ` +
        `${CHANGED_SHARE * 100}% of a node's counts changed in each, and ${CHURN_SHARE * 100}% of its tail topics replaced`,
    ],
  ];
  for (const run of runs) {
    const commands = run.shards.reduce((sum, s) => sum + s.commandsPerSecond, 0);
    const cpu = run.shards.reduce((sum, s) => sum + s.cpu, 0);
    const perBeat = run.heartbeatsPerSecond > 0 ? 1 / run.heartbeatsPerSecond : 0;
    rows.push(
      [`${run.store}: registered (full sync of every node)`, `${fmt(run.registerMs)} ms`],
      [
        `${run.store}: heartbeats/s`,
        `${fmt(run.heartbeatsPerSecond)} (${fmt(run.failed)} failed, ${fmt(run.behind)} not sent: 256 in flight)`,
      ],
      [`${run.store}: Redis commands/s (all shards)`, fmt(commands)],
      ...run.shards.map((s): [string, string] => [
        `${run.store}: ${s.name}`,
        `${fmt(s.commandsPerSecond)} commands/s, ${fmt(s.cpu * 100)}% of a core`,
      ]),
      [
        `${run.store}: per heartbeat (with its churn)`,
        `${fmt(commands * perBeat, 1)} Redis commands, ${fmt(cpu * perBeat * 1e6)} µs Redis CPU, ` +
          `${fmt(run.dispatcherCpu * perBeat * 1e6)} µs dispatcher CPU`,
      ],
      [
        `${run.store}: 1,000 nodes at 1 s heartbeats`,
        `${fmt(cpu * perBeat * 1000, 2)} Redis cores, ${fmt(run.dispatcherCpu * perBeat * 1000, 2)} dispatcher cores`,
      ],
      [`${run.store}: dispatchers' CPU`, `${fmt(run.dispatcherCpu * 100)}% of a core`],
    );
  }
  rows.push(...cpuOut);
  const ok = runs.every((r) => r.failed === 0 && r.heartbeatsPerSecond > 0);
  return { rows, result: { options, runs }, ok };
}

async function simulate(
  store: string,
  options: RegistryOptions,
  dispatchers: RunningProcess[],
  shards: RunningProcess[],
  sinkUrl: string,
): Promise<{ summary: StoreRun; cpu: Record<string, { cpu: number; rssMb: number }> }> {
  const agent = new Agent({ connections: 64, pipelining: 1 });
  const post = async (path: string, body: object, n: number): Promise<{ resync?: boolean }> => {
    const base = dispatchers[n % dispatchers.length]?.url;
    const response = await request(`${base}${path}`, {
      method: 'POST',
      dispatcher: agent,
      headers: { 'content-type': 'application/json', authorization: `Bearer ${BENCH_TOKEN}` },
      body: JSON.stringify(body),
    });
    const text = await response.body.text();
    if (response.statusCode !== 200) throw new Error(`${path} answered ${response.statusCode}: ${text.slice(0, 200)}`);
    return JSON.parse(text) as { resync?: boolean };
  };
  const tailPerNode = Math.max(1, Math.floor((options.topics - POPULAR) / options.nodes));
  const popular = Array.from({ length: POPULAR }, (_, i) => `video:popular-${i}`);
  let fresh = 0;
  const nodes: SimNode[] = Array.from({ length: options.nodes }, (_, n) => ({
    id: `sim-${n}`,
    popular,
    tail: Array.from({ length: tailPerNode }, (_, t) => `video:tail-${n}-${t}`),
    next: tailPerNode,
  }));
  const counts = (node: SimNode, share: number): Record<string, number> => {
    const all = [...node.popular, ...node.tail];
    const picked = share >= 1 ? all : all.filter(() => Math.random() < share);
    return Object.fromEntries(picked.map((t) => [t, 1 + Math.floor(Math.random() * 50)]));
  };
  const url = `${sinkUrl}/`;

  // Register: each node's first heartbeat is told to resync; its full sync goes in parts.
  const registerStart = performance.now();
  await inBatches(nodes, 50, async (node, n) => {
    await post('/internal/nodes/heartbeat', { nodeId: node.id, url, counts: {}, topics: 0 }, n);
    const all = Object.entries(counts(node, 1));
    for (let i = 0; i < all.length; i += PART) {
      await post(
        '/internal/nodes/sync',
        { nodeId: node.id, url, syncId: 's1', last: false, counts: Object.fromEntries(all.slice(i, i + PART)) },
        n,
      );
    }
    await post('/internal/nodes/sync', { nodeId: node.id, url, syncId: 's1', last: true, counts: {} }, n);
  });
  const registerMs = performance.now() - registerStart;

  // Steady state: every node heartbeats every heartbeatMs (spread over the interval), with churn.
  const infos = await Promise.all(shards.map((s) => commandsProcessed(s.url)));
  const cpu = new CpuMeter({
    ...Object.fromEntries(shards.map((s) => [s.name, s.pid])),
    ...Object.fromEntries(dispatchers.map((d) => [d.name, d.pid])),
  });
  cpu.mark();
  const started = performance.now();
  let beats = 0;
  let failed = 0;
  let behind = 0;
  const errors = new Set<string>();
  const inFlight = new Set<Promise<void>>();
  const deadline = started + options.seconds * 1000;
  for (let tick = 0; performance.now() < deadline; tick++) {
    const tickStart = started + tick * options.heartbeatMs;
    for (let n = 0; n < nodes.length; n++) {
      const node = nodes[n] as SimNode;
      const due = tickStart + (n / nodes.length) * options.heartbeatMs;
      const wait = due - performance.now();
      if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
      if (performance.now() > deadline) break;
      // Bounded: a store that cannot keep up is measured at the rate it takes, not queued without end.
      if (inFlight.size >= 256) {
        behind++;
        continue;
      }
      const churn = Math.max(1, Math.round(node.tail.length * CHURN_SHARE));
      const leaving = node.tail.splice(0, churn);
      const arriving = Array.from({ length: churn }, () => `video:tail-${n}-${node.next++}-${fresh++}`);
      node.tail.push(...arriving);
      const beat = (async () => {
        await post('/internal/nodes/topics', { nodeId: node.id, url, add: arriving, remove: leaving }, n);
        const ack = await post(
          '/internal/nodes/heartbeat',
          { nodeId: node.id, url, counts: counts(node, CHANGED_SHARE), topics: node.popular.length + node.tail.length },
          n + 1,
        );
        if (ack.resync) throw new Error(`node ${node.id} was asked to resync in steady state`);
        beats++;
      })()
        .catch((error: unknown) => {
          failed++;
          if (errors.size < 5) errors.add(error instanceof Error ? error.message.slice(0, 160) : String(error));
        })
        .finally(() => inFlight.delete(beat));
      inFlight.add(beat);
    }
  }
  await Promise.all(inFlight);
  for (const message of errors) process.stderr.write(`registry ${store}: ${message}\n`);
  const seconds = (performance.now() - started) / 1000;
  const usage = cpu.report();
  const after = await Promise.all(shards.map((s) => commandsProcessed(s.url)));
  await agent.close();
  return {
    summary: {
      store,
      registerMs,
      heartbeatsPerSecond: beats / seconds,
      failed,
      behind,
      shards: shards.map((s, i) => ({
        name: s.name,
        commandsPerSecond: ((after[i] ?? 0) - (infos[i] ?? 0)) / seconds,
        cpu: usage[s.name]?.cpu ?? 0,
      })),
      dispatcherCpu: dispatchers.reduce((sum, d) => sum + (usage[d.name]?.cpu ?? 0), 0),
    },
    cpu: usage,
  };
}

/** Commands a Redis server processed so far (INFO stats). */
async function commandsProcessed(url: string): Promise<number> {
  const client = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0 });
  client.on('error', () => {});
  try {
    await client.connect();
    const match = /total_commands_processed:(\d+)/.exec(await client.info('stats'));
    return Number(match?.[1] ?? 0);
  } finally {
    client.disconnect();
  }
}

/** A stand-in for the nodes' delivery endpoint: takes any POST (viewer-count events) with 200. */
function startSink(): Promise<Server> {
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{"ok":true}');
    });
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

async function inBatches<T>(items: readonly T[], size: number, run: (item: T, index: number) => Promise<void>) {
  for (let i = 0; i < items.length; i += size) {
    await Promise.all(items.slice(i, i + size).map((item, k) => run(item, i + k)));
  }
}
