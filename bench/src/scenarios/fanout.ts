import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { CpuMeter } from '../proc-stats.js';
import { BENCH_TOKEN, startService } from '../stack.js';

/*
 * Fan-out: V viewers of one topic on one realtime node, fed by one dispatcher (memory registry).
 * A closed loop publishes comment batches as fast as the slowest viewer keeps up (at most `window`
 * events ahead of it), so the figure is the sustained delivery rate, not a burst into buffers.
 * The window must stay well under what a connection may buffer (MAX_BUFFERED_BYTES, 256 KiB, plus
 * kernel buffers that shrink under memory pressure with 1000s of sockets): 500 events of ~250 bytes
 * is ~125 KB. At the end every viewer must hold exactly every published event.
 */

export interface FanoutOptions {
  viewers: number;
  seconds: number;
  batch: number;
  workers: number;
  window: number;
}

export interface FanoutResult {
  scenario: 'fanout';
  viewers: number;
  connected: number;
  failed: number;
  seconds: number;
  published: number;
  deliveriesPerSecond: number;
  eventsPerSecond: number;
  /** Events carried by one dispatcher → node POST on average (batching at work). */
  eventsPerNodeBatch: number;
  lost: number;
  duplicated: number;
  /** Viewers the node closed as too slow during the measurement (the load generator fell behind). */
  slowClientDrops: number;
  cpu: Record<string, { cpu: number; rssMb: number }>;
}

const TOPIC = 'video:bench';

interface WorkerState {
  counts: number[];
  failed: number;
}

export async function runFanout(options: FanoutOptions): Promise<FanoutResult> {
  const dispatcher = await startService('dispatcher', { VIEWER_COUNT_INTERVAL_MS: '2000' });
  const realtime = await startService('realtime', { DISPATCHER_URLS: dispatcher.url, HEARTBEAT_MS: '15000' });
  const workerFile = fileURLToPath(new URL('../viewer-worker.js', import.meta.url));
  const states: WorkerState[] = [];
  const workers = Array.from({ length: options.workers }, (_, i) => {
    const child = fork(workerFile, [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    states[i] = { counts: [], failed: 0 };
    return child;
  });
  try {
    const ready = workers.map(
      (worker, i) =>
        new Promise<void>((resolve) => {
          worker.on('message', (message: { type: string; counts: number[]; failed: number }) => {
            states[i] = { counts: message.counts, failed: message.failed };
            if (message.type === 'ready') resolve();
          });
        }),
    );
    const perWorker = Math.ceil(options.viewers / options.workers);
    workers.forEach((worker, i) => {
      worker.send({
        url: `${realtime.url}/connect?topics=${TOPIC}`,
        count: Math.min(perWorker, options.viewers - i * perWorker),
      });
    });
    await Promise.all(ready);
    const connected = states.reduce((n, s) => n + s.counts.length, 0) - states.reduce((n, s) => n + s.failed, 0);

    const all = () => states.flatMap((s) => s.counts);
    const minReceived = () => Math.min(...all());
    const totalReceived = () => all().reduce((a, b) => a + b, 0);

    const text = 'x'.repeat(120);
    let published = 0;
    const publishBatch = async () => {
      const events = Array.from({ length: options.batch }, (_, i) => ({
        topic: TOPIC,
        type: 'comment',
        data: { seq: published + i, text },
      }));
      const response = await fetch(`${dispatcher.url}/publish`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${BENCH_TOKEN}` },
        body: JSON.stringify({ events }),
      });
      if (response.status !== 202) throw new Error(`publish answered ${response.status}`);
      await response.arrayBuffer();
      published += options.batch;
    };

    const runFor = async (ms: number) => {
      const until = performance.now() + ms;
      while (performance.now() < until) {
        if (published - minReceived() < options.window) await publishBatch();
        else await new Promise((resolve) => setTimeout(resolve, 2));
      }
    };

    await runFor(2000); // warm-up
    const cpu = new CpuMeter({
      realtime: realtime.pid,
      dispatcher: dispatcher.pid,
      'load-generator (publisher)': process.pid,
      ...Object.fromEntries(workers.map((w, i) => [`load-generator (viewers ${i + 1})`, w.pid ?? 0])),
    });
    cpu.mark();
    const startBatches = await nodeBatches(dispatcher.url);
    const startDrops = await slowDrops(realtime.url);
    const startDelivered = totalReceived();
    const startPublished = published;
    const started = performance.now();
    await runFor(options.seconds * 1000);
    const elapsed = (performance.now() - started) / 1000;
    const delivered = totalReceived() - startDelivered;
    const cpuReport = cpu.report();
    const endBatches = await nodeBatches(dispatcher.url);
    const drops = (await slowDrops(realtime.url)) - startDrops;

    // Drain: every viewer should end with exactly `published` events.
    const deadline = Date.now() + 30_000;
    while (minReceived() < published && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
    await new Promise((resolve) => setTimeout(resolve, 300)); // let any duplicate arrive before counting
    const counts = all();
    const lost = counts.reduce((n, c) => n + Math.max(0, published - c), 0);
    const duplicated = counts.reduce((n, c) => n + Math.max(0, c - published), 0);

    return {
      scenario: 'fanout',
      viewers: options.viewers,
      connected,
      failed: states.reduce((n, s) => n + s.failed, 0),
      seconds: elapsed,
      published,
      deliveriesPerSecond: delivered / elapsed,
      eventsPerSecond: (published - startPublished) / elapsed,
      eventsPerNodeBatch:
        (endBatches.events - startBatches.events) / Math.max(1, endBatches.batches - startBatches.batches),
      lost,
      duplicated,
      slowClientDrops: drops,
      cpu: cpuReport,
    };
  } finally {
    for (const worker of workers) worker.kill();
    await realtime.stop();
    await dispatcher.stop();
  }
}

/** Batches and events the dispatcher has sent to nodes so far, from its /metrics. */
async function nodeBatches(dispatcherUrl: string): Promise<{ batches: number; events: number }> {
  const text = await (await fetch(`${dispatcherUrl}/metrics`)).text();
  const sum = (pattern: RegExp) => [...text.matchAll(pattern)].reduce((total, match) => total + Number(match[1]), 0);
  return {
    batches: sum(/^dispatcher_node_batches_total\{outcome="ok"\} (\S+)$/gm),
    events: sum(/^dispatcher_node_events_total\{[^}]*\} (\S+)$/gm),
  };
}

async function slowDrops(realtimeUrl: string): Promise<number> {
  const text = await (await fetch(`${realtimeUrl}/metrics`)).text();
  return Number(/^realtime_slow_client_drops_total (\S+)$/m.exec(text)?.[1] ?? 0);
}
