import { CpuMeter, childPids, processStats } from '../proc-stats.js';
import { cpuRows, fmt, type Rows } from '../report.js';
import { scrape, total } from '../server-metrics.js';
import { type RunningProcess, setServiceNodeArgs, startReference, startStack } from '../stack.js';
import { until, ViewerPool } from '../viewers.js';

/*
 * Idle connections: V viewers on N realtime machines of W workers each (WORKERS=W: one port per
 * machine; at most ~19,900 sockets fit in one process here, so 100,000 take 6 workers), held for
 * longer than HEARTBEAT_MS so heartbeats must flow. The load generator's viewer processes hold at
 * most 19,000 sockets each, each bound to its own source address 127.0.0.x (one address has ~28K
 * ephemeral ports). Memory per connection: see `hold`; it counts every process of the machine
 * (primary and workers). With `--reference` the bare node:http server holds up to 19,000 (one
 * process) for comparison.
 */

export interface ConnectionsOptions {
  viewers: number;
  nodes: number;
  /** WORKERS of each realtime machine. */
  workers: number;
  holdSeconds: number;
  heartbeatMs: number;
  reference: boolean;
}

const TOPIC = 'video:bench-idle';

type Measured = Pick<RunningProcess, 'name' | 'pid'>;

async function settle(): Promise<void> {
  await new Promise((resolve) => setTimeout(resolve, 2000));
}

/**
 * Opens the viewers in two halves and takes memory per connection from the RSS growth between
 * them (the slope), so one-time costs of the first connections (code warming up, pools, heap
 * reservations) do not count; the growth from the empty baseline is reported too.
 */
async function hold(
  processes: Measured[],
  urls: string[],
  options: ConnectionsOptions,
  /** Connections the servers say they hold (read at the end of the hold, before the viewers go). */
  serverCount: () => Promise<number> = async () => Number.NaN,
) {
  await settle();
  const rssNow = () => processes.reduce((n, p) => n + processStats(p.pid).rssBytes, 0);
  const baseline = rssNow();
  const firstHalf = Math.floor(options.viewers / 2);
  const timed = async (viewers: number) => {
    const startedAt = performance.now();
    const opened = await ViewerPool.open({ urls, viewers });
    return { ...opened, seconds: (performance.now() - startedAt) / 1000 };
  };
  const first = await timed(firstHalf);
  await settle();
  const atHalf = rssNow();
  const second = await timed(options.viewers - firstHalf);
  const pools = [first.pool, second.pool];
  try {
    const openedAt = Date.now();
    const cpu = new CpuMeter({
      ...Object.fromEntries(processes.map((p) => [p.name, p.pid])),
      ...Object.fromEntries(
        pools.flatMap((pool) => pool.pids).map((pid, i) => [`load-generator (viewers ${i + 1})`, pid]),
      ),
    });
    const totals = async () => {
      const [a, b] = await Promise.all(pools.map((pool) => pool.totals()));
      return { open: (a?.open ?? 0) + (b?.open ?? 0), heartbeats: (a?.heartbeats ?? 0) + (b?.heartbeats ?? 0) };
    };
    const start = await totals();
    cpu.mark();
    // Hold past a heartbeat interval; every open connection should have had one.
    await new Promise((resolve) => setTimeout(resolve, options.holdSeconds * 1000));
    const end = await totals();
    const cpuReport = cpu.report();
    const heldByServers = await serverCount();
    const full = rssNow();
    const connected = first.connected + second.connected;
    const connectSeconds = first.seconds + second.seconds;
    return {
      connected,
      heldByServers,
      connectSeconds,
      connectsPerSecond: connected / connectSeconds,
      failed: first.failed + second.failed,
      stillOpen: end.open,
      heartbeatsPerConnection: (end.heartbeats - start.heartbeats) / Math.max(1, end.open),
      heldSeconds: (Date.now() - openedAt) / 1000,
      bytesPerConnection: (full - atHalf) / Math.max(1, second.connected),
      bytesPerConnectionFromEmpty: (full - baseline) / Math.max(1, connected),
      rssMb: processes.map((p) => processStats(p.pid).rssBytes / 1024 / 1024),
      rssTotalMb: full / 1024 / 1024,
      cpu: cpuReport,
    };
  } finally {
    for (const pool of pools) pool.close();
  }
}

export async function runConnections(
  options: ConnectionsOptions,
): Promise<{ rows: Rows; result: object; ok: boolean }> {
  // V8's young generation capped at 1 MB (a realtime machine's workers inherit it), so RSS is not
  // dominated by how full a 32 MB nursery per process happens to be.
  setServiceNodeArgs(['--max-semi-space-size=1']);
  const stack = await startStack({
    engine: 'memory',
    nodes: options.nodes,
    realtimeEnv: {
      HEARTBEAT_MS: String(options.heartbeatMs),
      // Per worker: the machine's port hands connections to its workers in turn.
      MAX_CONNECTIONS: '19800',
      ...(options.workers > 1 ? { WORKERS: String(options.workers) } : {}),
    },
  });
  let ovation: Awaited<ReturnType<typeof hold>>;
  try {
    // Every worker listening (its 1 in realtime_processes), or the others would take its share.
    const allListening = async () => {
      for (const node of stack.nodes) {
        if (total(await scrape(node.url), 'realtime_processes') < options.workers) return false;
      }
      return true;
    };
    if (!(await until(allListening, 30_000))) throw new Error(`not all ${options.workers} workers listened in 30 s`);
    const measured: Measured[] = stack.nodes.flatMap((node) => [
      node,
      ...childPids(node.pid).map((pid, i) => ({ name: `${node.name} worker ${i}`, pid })),
    ]);
    // What the machines' own /metrics count (every worker summed).
    const serverCount = async () => {
      let held = 0;
      for (const node of stack.nodes) held += total(await scrape(node.url), 'realtime_connections');
      return held;
    };
    ovation = await hold(
      measured,
      stack.nodes.map((n) => `${n.url}/connect?topics=${TOPIC}`),
      options,
      serverCount,
    );
  } finally {
    await stack.stop();
  }
  let reference: Awaited<ReturnType<typeof hold>> | undefined;
  if (options.reference) {
    const server = await startReference();
    try {
      reference = await hold([server], [`${server.url}/connect`], {
        ...options,
        viewers: Math.min(options.viewers, 19_000),
        holdSeconds: 5,
      });
    } finally {
      await server.stop();
    }
  }
  const rows: Rows = [
    ['realtime machines x WORKERS', `${options.nodes} x ${options.workers}`],
    [
      'viewers connected / failed / open at end',
      `${fmt(ovation.connected)} / ${fmt(ovation.failed)} / ${fmt(ovation.stillOpen)}`,
    ],
    ['connections the realtime tier counts (/metrics)', fmt(ovation.heldByServers)],
    [
      'time to connect (two halves)',
      `${fmt(ovation.connectSeconds, 1)} s (${fmt(ovation.connectsPerSecond)} connects/s)`,
    ],
    ['held for', `${fmt(ovation.heldSeconds, 1)} s (HEARTBEAT_MS ${options.heartbeatMs})`],
    ['heartbeats per connection while held', fmt(ovation.heartbeatsPerConnection, 2)],
    [
      'memory per connection (RSS slope; from empty)',
      `${fmt(ovation.bytesPerConnection / 1024, 2)} KB; ${fmt(ovation.bytesPerConnectionFromEmpty / 1024, 2)} KB`,
    ],
    [
      'realtime RSS (primary, workers)',
      `${fmt(ovation.rssTotalMb)} MB: ${ovation.rssMb.map((m) => `${fmt(m)}`).join(', ')} MB`,
    ],
    ...cpuRows(ovation.cpu),
  ];
  if (reference) {
    rows.push(
      ['[reference] connections', fmt(reference.connected)],
      [
        '[reference] memory per connection (slope; from empty)',
        `${fmt(reference.bytesPerConnection / 1024, 2)} KB; ${fmt(reference.bytesPerConnectionFromEmpty / 1024, 2)} KB`,
      ],
    );
  }
  const minHeartbeats = Math.floor((options.holdSeconds * 1000) / options.heartbeatMs);
  const ok =
    ovation.failed === 0 &&
    ovation.stillOpen === ovation.connected &&
    ovation.heldByServers === ovation.connected &&
    ovation.heartbeatsPerConnection >= minHeartbeats;
  return { rows, result: { scenario: 'connections', options, ovation, reference }, ok };
}
