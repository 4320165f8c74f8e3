import { CpuMeter } from '../proc-stats.js';
import { Publisher } from '../publisher.js';
import { cpuRows, fmt, type Rows } from '../report.js';
import { scrape, total } from '../server-metrics.js';
import { type RunningProcess, startReference, startStack } from '../stack.js';
import { until, ViewerPool } from '../viewers.js';

/*
 * Comment-only fan-out: V viewers of one topic on one server process. A closed loop publishes
 * batches of comments while the slowest viewer is fewer than `window` events behind, so the figure
 * is the sustained delivery rate, not a burst into buffers. The window stays well under what a
 * connection may buffer (MAX_BUFFERED_BYTES 256 KiB; kernel buffers shrink under memory pressure
 * with thousands of sockets): 500 events of ~250 bytes ≈ 125 KB. Every viewer must end with every
 * event exactly once.
 *
 * With `--reference` the same driver runs against the bare node:http server (reference-server.ts)
 * in the same invocation, and the ratio is reported.
 */

export interface FanoutOptions {
  viewers: number;
  seconds: number;
  batch: number;
  window: number;
  reference: boolean;
}

const TOPIC = 'video:bench-fanout';

interface Target {
  name: string;
  connectUrl: string;
  publishUrl: string;
  pids: Record<string, number>;
  stop(): Promise<void>;
  writes?: () => Promise<number>;
}

async function ovationTarget(): Promise<Target> {
  const stack = await startStack({ engine: 'memory', nodes: 1 });
  const node = stack.nodes[0] as RunningProcess;
  return {
    name: 'ovation',
    connectUrl: `${node.url}/connect?topics=${TOPIC}`,
    publishUrl: stack.dispatcher.url,
    pids: { realtime: node.pid, dispatcher: stack.dispatcher.pid },
    stop: () => stack.stop(),
    writes: async () => total(await scrape(node.url), 'realtime_socket_writes_total'),
  };
}

async function referenceTarget(): Promise<Target> {
  const server = await startReference();
  return {
    name: 'reference (bare node:http)',
    connectUrl: `${server.url}/connect?topics=${TOPIC}`,
    publishUrl: server.url,
    pids: { reference: server.pid },
    stop: () => server.stop(),
  };
}

async function runOne(target: Target, options: FanoutOptions) {
  const { pool, connected, failed } = await ViewerPool.open({ urls: [target.connectUrl], viewers: options.viewers });
  try {
    const publisher = new Publisher(target.publishUrl);
    let slowest = 0;
    let refreshing = false;
    const refresh = setInterval(async () => {
      if (refreshing) return;
      refreshing = true;
      slowest = (await pool.totals()).minComments;
      refreshing = false;
    }, 50);
    const runFor = async (ms: number) => {
      const until_ = performance.now() + ms;
      while (performance.now() < until_) {
        if (publisher.comments - slowest < options.window) await publisher.publishComments(TOPIC, options.batch);
        else await new Promise((resolve) => setTimeout(resolve, 2));
      }
    };
    await runFor(2000); // warm-up
    const cpu = new CpuMeter({
      ...target.pids,
      'load-generator (publisher)': process.pid,
      ...Object.fromEntries(pool.pids.map((pid, i) => [`load-generator (viewers ${i + 1})`, pid])),
    });
    const before = await pool.totals();
    const writesBefore = (await target.writes?.()) ?? 0;
    const publishedBefore = publisher.comments;
    cpu.mark();
    const started = performance.now();
    await runFor(options.seconds * 1000);
    const seconds = (performance.now() - started) / 1000;
    const cpuReport = cpu.report();
    const after = await pool.totals();
    const writes = ((await target.writes?.()) ?? 0) - writesBefore;
    clearInterval(refresh);
    await until(async () => (await pool.totals()).minComments >= publisher.comments, 30_000);
    const final = await pool.final({ comments: publisher.comments, likes: 0 });
    return {
      target: target.name,
      connected,
      failed,
      seconds,
      eventsPerSecond: (publisher.comments - publishedBefore) / seconds,
      deliveriesPerSecond: (after.comments - before.comments) / seconds,
      socketWritesPerSecond: target.writes ? writes / seconds : undefined,
      latencyMs: final.latency,
      lost: final.lostComments,
      duplicated: final.duplicatedComments,
      cpu: cpuReport,
    };
  } finally {
    pool.close();
  }
}

export async function runFanout(options: FanoutOptions): Promise<{ rows: Rows; result: object; ok: boolean }> {
  const results = [];
  const makers = options.reference ? [ovationTarget, referenceTarget] : [ovationTarget];
  for (const make of makers) {
    const target = await make();
    try {
      results.push(await runOne(target, options));
    } finally {
      await target.stop();
    }
  }
  const rows: Rows = [];
  for (const r of results) {
    rows.push(
      [`[${r.target}] viewers connected / failed`, `${fmt(r.connected)} / ${fmt(r.failed)}`],
      [`[${r.target}] events published / s`, fmt(r.eventsPerSecond)],
      [`[${r.target}] deliveries / s`, fmt(r.deliveriesPerSecond)],
      ...(r.socketWritesPerSecond === undefined
        ? []
        : ([[`[${r.target}] socket writes / s`, fmt(r.socketWritesPerSecond)]] as Rows)),
      [`[${r.target}] latency p50 / p99`, `${fmt(r.latencyMs.p50, 1)} / ${fmt(r.latencyMs.p99, 1)} ms`],
      [`[${r.target}] lost / duplicated`, `${r.lost} / ${r.duplicated}`],
      ...cpuRows(r.cpu).map(([k, v]): [string, string | number] => [`[${r.target}] ${k}`, v]),
    );
  }
  const [ovation, reference] = results;
  const ratio = ovation && reference ? ovation.deliveriesPerSecond / reference.deliveriesPerSecond : undefined;
  if (ratio !== undefined) rows.push(['ovation / reference deliveries', `${fmt(ratio, 2)}x`]);
  const ok = results.every((r) => r.failed === 0 && r.lost === 0 && r.duplicated === 0);
  return { rows, result: { scenario: 'fanout', options, results, ratio }, ok };
}
