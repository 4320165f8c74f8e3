import { CpuMeter, processStats } from '../proc-stats.js';
import { cpuRows, fmt, type Rows } from '../report.js';
import { type RunningProcess, startReference, startStack } from '../stack.js';
import { ViewerPool } from '../viewers.js';

/*
 * Idle connections: V viewers spread over N realtime processes (at most ~19,900 sockets fit in
 * one process here), held for longer than HEARTBEAT_MS so heartbeats must flow. Memory per
 * connection = growth of the realtime processes' RSS / connections. With `--reference` the bare
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

async function hold(processes: RunningProcess[], urls: string[], options: ConnectionsOptions) {
  await settle();
  const baseline = processes.map((p) => processStats(p.pid).rssBytes);
  const opened = await ViewerPool.open({ urls, viewers: options.viewers });
  const pool = opened.pool;
  try {
    const openedAt = Date.now();
    const cpu = new CpuMeter({
      ...Object.fromEntries(processes.map((p) => [p.name, p.pid])),
      ...Object.fromEntries(pool.pids.map((pid, i) => [`load-generator (viewers ${i + 1})`, pid])),
    });
    const start = await pool.totals();
    cpu.mark();
    // Hold past a heartbeat interval; every open connection should have had one.
    await new Promise((resolve) => setTimeout(resolve, options.holdSeconds * 1000));
    const end = await pool.totals();
    const cpuReport = cpu.report();
    const rss = processes.map((p) => processStats(p.pid).rssBytes);
    const grown = rss.reduce((n, r, i) => n + (r - (baseline[i] ?? 0)), 0);
    return {
      connected: opened.connected,
      failed: opened.failed,
      stillOpen: end.open,
      heartbeatsPerConnection: (end.heartbeats - start.heartbeats) / Math.max(1, end.open),
      heldSeconds: (Date.now() - openedAt) / 1000,
      bytesPerConnection: grown / Math.max(1, opened.connected),
      rssMb: rss.map((r) => r / 1024 / 1024),
      cpu: cpuReport,
    };
  } finally {
    pool.close();
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
    ['memory per connection (RSS growth)', `${fmt(ovation.bytesPerConnection / 1024, 2)} KB`],
    ['realtime RSS', ovation.rssMb.map((m) => `${fmt(m)} MB`).join(', ')],
    ...cpuRows(ovation.cpu),
  ];
  if (reference) {
    rows.push(
      ['[reference] connections', fmt(reference.connected)],
      ['[reference] memory per connection', `${fmt(reference.bytesPerConnection / 1024, 2)} KB`],
    );
  }
  const minHeartbeats = Math.floor((options.holdSeconds * 1000) / options.heartbeatMs);
  const ok =
    ovation.failed === 0 && ovation.stillOpen === ovation.connected && ovation.heartbeatsPerConnection >= minHeartbeats;
  return { rows, result: { scenario: 'connections', options, ovation, reference }, ok };
}
