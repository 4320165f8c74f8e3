import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { CpuMeter } from '../proc-stats.js';
import type { PublisherResult } from '../publisher-worker.js';
import { cpuRows, fmt, type Rows } from '../report.js';
import { scrape, total as sum } from '../server-metrics.js';
import { BENCH_TOKEN, startStack } from '../stack.js';
import { until, ViewerPool } from '../viewers.js';

/*
 * Dispatcher throughput: one dispatcher process with the Redis registry (one server, or a Redis
 * Cluster of 3 masters + 3 replicas with `--engine cluster`), 2 realtime nodes that
 * each have a viewer on every topic, and publisher worker processes posting batches as fast as the
 * dispatcher accepts them (a 503 — backpressure when a node falls behind — is retried after a
 * short pause). Publishes/s = events accepted (202) per second; both nodes must receive every
 * accepted event.
 */

export interface DispatchOptions {
  engine: 'memory' | 'redis' | 'cluster';
  /** REDIS_WAIT_REPLICAS for the dispatcher (its default when unset: 1 on a cluster, 0 on one server). */
  waitReplicas?: number | undefined;
  seconds: number;
  batch: number;
  concurrency: number;
  publishers: number;
  topics: number;
}

export async function runDispatch(options: DispatchOptions): Promise<{ rows: Rows; result: object; ok: boolean }> {
  // The viewers only keep the topics registered; they read and discard. A generous per-connection
  // buffer keeps the node from closing them as slow while the load generator is busy publishing.
  const stack = await startStack({
    engine: options.engine,
    nodes: 2,
    realtimeEnv: { MAX_BUFFERED_BYTES: String(256 * 1024 * 1024) },
    dispatcherEnv: options.waitReplicas === undefined ? {} : { REDIS_WAIT_REPLICAS: String(options.waitReplicas) },
  });
  const topics = Array.from({ length: options.topics }, (_, i) => `video:dispatch-${i}`);
  let pool: ViewerPool | undefined;
  try {
    // One viewer per topic per node registers every topic on both nodes.
    const opened = await ViewerPool.open({
      urls: stack.nodes.map((n) => `${n.url}/connect?topics=${topics.join(',')}`),
      viewers: 2,
      workers: 1,
      discard: true,
    });
    pool = opened.pool;
    const received = async () => {
      let total = 0;
      for (const node of stack.nodes) {
        total += sum(await scrape(node.url), 'realtime_events_received_total');
      }
      return total;
    };
    const receivedBefore = await received();

    const file = fileURLToPath(new URL('../publisher-worker.js', import.meta.url));
    const workers = Array.from({ length: options.publishers }, () =>
      fork(file, [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] }),
    );
    const cpu = new CpuMeter({
      dispatcher: stack.dispatcher.pid,
      ...(stack.redis ? { redis: stack.redis.pid } : {}),
      ...Object.fromEntries((stack.shards ?? []).map((s) => [s.name, s.pid])),
      ...Object.fromEntries(stack.nodes.map((n) => [n.name, n.pid])),
      ...Object.fromEntries(workers.map((w, i) => [`load-generator (publisher ${i + 1})`, w.pid ?? 0])),
    });
    cpu.mark();
    const started = performance.now();
    const results = await Promise.all(
      workers.map(
        (worker) =>
          new Promise<PublisherResult>((resolve) => {
            worker.once('message', (m: PublisherResult) => resolve(m));
            worker.send({
              url: stack.dispatcher.url,
              token: BENCH_TOKEN,
              batch: options.batch,
              concurrency: options.concurrency,
              seconds: options.seconds,
              topics,
            });
          }),
      ),
    );
    const seconds = (performance.now() - started) / 1000;
    const cpuReport = cpu.report();
    const accepted = results.reduce((n, r) => n + r.events, 0);
    const requests = results.reduce((n, r) => n + r.requests, 0);
    const refused = results.reduce((n, r) => n + r.refused, 0);
    const errors = results.reduce((n, r) => n + r.errors, 0);
    const expected = receivedBefore + accepted * stack.nodes.length;
    const delivered = await until(async () => (await received()) >= expected, 30_000);
    const receivedByNodes = (await received()) - receivedBefore;

    const rows: Rows = [
      ['engine', options.engine],
      [
        'replicas a 202 waits for (REDIS_WAIT_REPLICAS)',
        options.waitReplicas ?? (options.engine === 'cluster' ? 1 : 0),
      ],
      ['batch x concurrency x publishers', `${options.batch} x ${options.concurrency} x ${options.publishers}`],
      ['publishes (events accepted) / s', fmt(accepted / seconds)],
      ['requests / s', fmt(requests / seconds)],
      ['refused (503 backpressure, retried) / request errors', `${fmt(refused)} / ${errors}`],
      ['events received by the 2 nodes', `${fmt(receivedByNodes)} of ${fmt(accepted * 2)} expected`],
      ...cpuRows(cpuReport),
    ];
    const result = {
      scenario: 'dispatch',
      options,
      seconds,
      publishesPerSecond: accepted / seconds,
      requestsPerSecond: requests / seconds,
      refused,
      errors,
      receivedByNodes,
      cpu: cpuReport,
    };
    return { rows, result, ok: delivered && errors === 0 && opened.failed === 0 };
  } finally {
    pool?.close();
    await stack.stop();
  }
}
