import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { CpuMeter } from '../proc-stats.js';
import type { PublisherResult } from '../publisher-worker.js';
import { cpuRows, fmt, type Rows } from '../report.js';
import { scrape, total } from '../server-metrics.js';
import { BENCH_TOKEN, type RunningProcess, startRedis, startService } from '../stack.js';
import { until, ViewerPool } from '../viewers.js';

/*
 * Cross-region relay throughput: region a (Redis, dispatcher, node) relays everything it accepts
 * to region b (Redis, dispatcher, node), each region with a viewer on every topic. A publisher
 * posts batches to a's dispatcher as fast as it accepts them; the figure is how many relayed
 * events/s b's dispatcher accepted (deduplicated, positioned, in its history, fanned out), from
 * the first publish until b held every event a accepted (once a probe showed the relay running).
 */

/** Region a's outbox bound in bytes for the run (the default, 64 MiB, drops past ~20 s of overload). */
const OUTBOX_MAX_BYTES = 1024 * 1024 * 1024;
/** With events dropped, b gaining nothing for this long means the relay is done. */
const STILL_MS = 5_000;

export interface RelayOptions {
  seconds: number;
  batch: number;
  concurrency: number;
  topics: number;
}

export async function runRelay(options: RelayOptions): Promise<{ rows: Rows; result: object; ok: boolean }> {
  const started: RunningProcess[] = [];
  let pool: ViewerPool | undefined;
  try {
    const [redisA, redisB] = [await startRedis(), await startRedis()];
    started.push(redisA, redisB);
    const b = await startService(
      'dispatcher',
      { REGION: 'b', REDIS_URL: redisB.url, REDIS_PREFIX: 'bench' },
      'dispatcher-b',
    );
    started.push(b);
    const a = await startService(
      'dispatcher',
      {
        REGION: 'a',
        REDIS_URL: redisA.url,
        REDIS_PREFIX: 'bench',
        PEERS: `b=${b.url}`,
        // The outbox's bounds well above what a run's backlog reaches (the publisher outpaces the
        // relay on a shared machine): the figure is the relay's, not where the bound starts dropping.
        RELAY_QUEUE_MAX: '5000000',
        RELAY_OUTBOX_MAX_BYTES: String(OUTBOX_MAX_BYTES),
      },
      'dispatcher-a',
    );
    started.push(a);
    const nodeEnv = { MAX_BUFFERED_BYTES: String(256 * 1024 * 1024) };
    const nodeA = await startService('realtime', { ...nodeEnv, REGION: 'a', DISPATCHER_URLS: a.url }, 'realtime-a');
    const nodeB = await startService('realtime', { ...nodeEnv, REGION: 'b', DISPATCHER_URLS: b.url }, 'realtime-b');
    started.push(nodeA, nodeB);

    const topics = Array.from({ length: options.topics }, (_, i) => `video:relay-${i}`);
    const opened = await ViewerPool.open({
      urls: [nodeA, nodeB].map((n) => `${n.url}/connect?topics=${topics.join(',')}`),
      viewers: 2,
      workers: 1,
      discard: true,
    });
    pool = opened.pool;

    // Relaying starts a few seconds after a region's store first comes up (a relay duty no one
    // held yet waits for a holder from before a loss; relayer.ts): measured from when it runs.
    const accepted = async () => (await scrape(b.url)).get('dispatcher_relay_received_total{outcome="accepted"}') ?? 0;
    const probe = await fetch(`${a.url}/publish`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${BENCH_TOKEN}` },
      body: JSON.stringify({ topic: topics[0], type: 'comment', data: { text: 'relay running?' } }),
    });
    await probe.arrayBuffer();
    if (probe.status !== 202 || !(await until(async () => (await accepted()) >= 1, 30_000)))
      throw new Error(`the relay to b did not start (probe publish answered ${probe.status})`);
    const before = await accepted();

    const worker = fork(fileURLToPath(new URL('../publisher-worker.js', import.meta.url)), [], {
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    const cpu = new CpuMeter({
      'dispatcher a': a.pid,
      'dispatcher b': b.pid,
      'redis a': redisA.pid,
      'redis b': redisB.pid,
      'realtime a': nodeA.pid,
      'realtime b': nodeB.pid,
    });
    cpu.mark();
    const t0 = performance.now();
    const result = await new Promise<PublisherResult>((resolve) => {
      worker.once('message', (m: PublisherResult) => resolve(m));
      worker.send({
        url: a.url,
        token: BENCH_TOKEN,
        batch: options.batch,
        concurrency: options.concurrency,
        seconds: options.seconds,
        topics,
      });
    });
    const publishSeconds = (performance.now() - t0) / 1000;
    // Until b holds every event a accepted — or, if a's outbox dropped some after all, until b
    // stopped gaining for STILL_MS (nothing left to relay: waiting on would count idle time).
    let last = -1;
    let gainedAt = performance.now();
    const caughtUp = await until(async () => {
      const now = (await accepted()) - before;
      if (now >= result.events) return true;
      if (now !== last) [last, gainedAt] = [now, performance.now()];
      return (
        performance.now() - gainedAt > STILL_MS && total(await scrape(a.url), 'dispatcher_relay_dropped_total') > 0
      );
    }, 120_000);
    const relayed = (await accepted()) - before;
    // Caught up with all, or with what was left after drops: the time b last gained.
    const relaySeconds = ((relayed >= result.events ? performance.now() : gainedAt) - t0) / 1000;
    const cpuReport = cpu.report();
    const fromA = await scrape(a.url);
    const dropped = total(fromA, 'dispatcher_relay_dropped_total');
    const failures = total(fromA, 'dispatcher_relay_failures_total');

    const rows: Rows = [
      ['batch x concurrency, topics', `${options.batch} x ${options.concurrency}, ${options.topics}`],
      ['published in a (accepted) / s', fmt(result.events / publishSeconds)],
      ['relayed, accepted by b / s (first publish → b holds all)', fmt(relayed / relaySeconds)],
      [
        'events accepted in a / accepted by b / dropped / failed requests',
        `${fmt(result.events)} / ${fmt(relayed)} / ${dropped} / ${failures}`,
      ],
      [
        relayed >= result.events ? 'b caught up' : 'b caught up with what a did not drop',
        `${fmt(relaySeconds - publishSeconds, 1)} s after publishing stopped`,
      ],
      ...cpuRows(cpuReport),
    ];
    return {
      rows,
      result: {
        scenario: 'relay',
        options,
        publishedPerSecond: result.events / publishSeconds,
        relayedPerSecond: relayed / relaySeconds,
        accepted: result.events,
        relayed,
        dropped,
        cpu: cpuReport,
      },
      ok: caughtUp && relayed === result.events && dropped === 0 && opened.failed === 0,
    };
  } finally {
    pool?.close();
    for (const p of started.reverse()) await p.stop();
  }
}
