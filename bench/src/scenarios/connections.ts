import { CpuMeter, processStats } from '../proc-stats.js';
import { cpuRows, fmt, type Rows } from '../report.js';
import { type RunningProcess, startReference, startStack } from '../stack.js';
import { ViewerPool } from '../viewers.js';

/*
 * Idle connections: V viewers spread over N realtime processes (at most ~19,900 sockets fit in
 * one process here), held for longer than HEARTBEAT_MS so heartbeats must flow. Memory per
 * connection: see `hold`. With `--reference` the bare
 * node:http server holds the same number (up to 19,000, one process) for comparison.
 */

export interface ConnectionsOptions {
  viewers: number;
  nodes: number;
  holdSeconds: number;
  heartbeatMs: number;
  reference: boolean;
}

const TOPIC = 'video:bench-idle';

async function settle(): Promise<void> {
  await new Promise((resolve) => setTimeout(resolve, 2000));
}

/**
 * Opens the viewers in two halves and takes memory per connection from the RSS growth between
 * them (the slope), so one-time costs of the first connections (code warming up, pools, heap
 * reservations) do not count; the growth from the empty baseline is reported too.
 */
async function hold(processes: RunningProcess[], urls: string[], options: ConnectionsOptions) {
  await settle();
  const rssNow = () => processes.reduce((n, p) => n + processStats(p.pid).rssBytes, 0);
  const baseline = rssNow();
  const firstHalf = Math.floor(options.viewers / 2);
  const first = await ViewerPool.open({ urls, viewers: firstHalf });
  await settle();
  const atHalf = rssNow();
  const second = await ViewerPool.open({ urls, viewers: options.viewers - firstHalf });
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
    const full = rssNow();
    const connected = first.connected + second.connected;
    return {
      connected,
      failed: first.failed + second.failed,
      stillOpen: end.open,
      heartbeatsPerConnection: (end.heartbeats - start.heartbeats) / Math.max(1, end.open),
      heldSeconds: (Date.now() - openedAt) / 1000,
      bytesPerConnection: (full - atHalf) / Math.max(1, second.connected),
      bytesPerConnectionFromEmpty: (full - baseline) / Math.max(1, connected),
      rssMb: processes.map((p) => processStats(p.pid).rssBytes / 1024 / 1024),
      cpu: cpuReport,
    };
  } finally {
    for (const pool of pools) pool.close();
  }
}

export async function runConnections(
  options: ConnectionsOptions,
): Promise<{ rows: Rows; result: object; ok: boolean }> {
  const stack = await startStack({
    engine: 'memory',
    nodes: options.nodes,
    realtimeEnv: { HEARTBEAT_MS: String(options.heartbeatMs), MAX_CONNECTIONS: '19800' },
  });
  let ovation: Awaited<ReturnType<typeof hold>>;
  try {
    ovation = await hold(
      stack.nodes,
      stack.nodes.map((n) => `${n.url}/connect?topics=${TOPIC}`),
      options,
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
    ['realtime processes', options.nodes],
    [
      'viewers connected / failed / open at end',
      `${fmt(ovation.connected)} / ${fmt(ovation.failed)} / ${fmt(ovation.stillOpen)}`,
    ],
    ['held for', `${fmt(ovation.heldSeconds, 1)} s (HEARTBEAT_MS ${options.heartbeatMs})`],
    ['heartbeats per connection while held', fmt(ovation.heartbeatsPerConnection, 2)],
    [
      'memory per connection (RSS slope; from empty)',
      `${fmt(ovation.bytesPerConnection / 1024, 2)} KB; ${fmt(ovation.bytesPerConnectionFromEmpty / 1024, 2)} KB`,
    ],
    ['realtime RSS', ovation.rssMb.map((m) => `${fmt(m)} MB`).join(', ')],
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
    ovation.failed === 0 && ovation.stillOpen === ovation.connected && ovation.heartbeatsPerConnection >= minHeartbeats;
  return { rows, result: { scenario: 'connections', options, ovation, reference }, ok };
}
