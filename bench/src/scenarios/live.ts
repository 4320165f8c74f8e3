import { CpuMeter } from '../proc-stats.js';
import { Publisher } from '../publisher.js';
import { cpuRows, fmt, type Rows } from '../report.js';
import { fanoutWork, histogramQuantileMs, scrape } from '../server-metrics.js';
import { startStack } from '../stack.js';
import { until, type ViewerFinal, ViewerPool } from '../viewers.js';

/*
 * `seed` and `latency`: V viewers of one video on one realtime node, fed by one dispatcher; an
 * open-loop publisher sends likes and comments at fixed rates, each its own request as the
 * product's API would. Every viewer must end with every comment exactly once and a like sum
 * equal to the likes published.
 */

export interface LiveOptions {
  name: 'seed' | 'latency';
  engine: 'memory' | 'redis';
  viewers: number;
  likesPerSecond: number;
  commentsPerSecond: number;
  seconds: number;
  /** Extra environment for the realtime node (to compare settings). */
  realtimeEnv?: Record<string, string>;
}

const TOPIC = 'video:bench-live';

export async function runLive(options: LiveOptions): Promise<{ rows: Rows; result: object; ok: boolean }> {
  const stack = await startStack({ engine: options.engine, nodes: 1, realtimeEnv: options.realtimeEnv ?? {} });
  const node = stack.nodes[0];
  if (!node) throw new Error('no realtime node');
  let pool: ViewerPool | undefined;
  try {
    const opened = await ViewerPool.open({
      urls: [`${node.url}/connect?topics=${TOPIC}`],
      viewers: options.viewers,
      reportEvery: 100,
    });
    pool = opened.pool;
    const viewers = pool;
    const publisher = new Publisher(stack.dispatcher.url);

    const cpu = new CpuMeter({
      realtime: node.pid,
      dispatcher: stack.dispatcher.pid,
      ...(stack.redis ? { redis: stack.redis.pid } : {}),
      'load-generator (publisher)': process.pid,
      ...Object.fromEntries(viewers.pids.map((pid, i) => [`load-generator (viewers ${i + 1})`, pid])),
    });
    const before = await viewers.totals();
    const metricsBefore = await scrape(node.url);
    cpu.mark();
    const started = performance.now();
    await publisher.runRates(TOPIC, options);
    const seconds = (performance.now() - started) / 1000;
    const cpuReport = cpu.report();
    const after = await viewers.totals();
    const metricsAfter = await scrape(node.url);
    const work = fanoutWork(metricsBefore, metricsAfter, seconds);
    const stage = (name: string, q: number) => histogramQuantileMs(metricsBefore, metricsAfter, name, q);
    const stages = {
      publishToReceiptP50: stage('realtime_publish_to_receipt_seconds', 0.5),
      publishToReceiptP99: stage('realtime_publish_to_receipt_seconds', 0.99),
      receiptToWriteP50: stage('realtime_receipt_to_write_seconds', 0.5),
      receiptToWriteP99: stage('realtime_receipt_to_write_seconds', 0.99),
    };

    const drained = await until(async () => {
      const t = await viewers.totals();
      return t.minComments >= publisher.comments && t.minLikes >= publisher.likes;
    }, 30_000);
    const final: ViewerFinal = await viewers.final({ comments: publisher.comments, likes: publisher.likes });
    const serverLatency = await collectedLatency(stack.dispatcher.url);

    const likeDeliveries = (after.likes - before.likes) / seconds;
    const commentDeliveries = (after.comments - before.comments) / seconds;
    const ok =
      opened.failed === 0 &&
      drained &&
      final.lostComments === 0 &&
      final.duplicatedComments === 0 &&
      final.likeMismatches === 0 &&
      publisher.rejected === 0;
    const result = {
      scenario: options.name,
      engine: options.engine,
      viewers: options.viewers,
      connected: opened.connected,
      failed: opened.failed,
      seconds,
      published: { likes: publisher.likes, comments: publisher.comments, rejected: publisher.rejected },
      likeDeliveriesPerSecond: likeDeliveries,
      commentDeliveriesPerSecond: commentDeliveries,
      commentLatencyMs: final.latency,
      serverCollectedLatencyMs: serverLatency,
      lostComments: final.lostComments,
      duplicatedComments: final.duplicatedComments,
      outOfOrderComments: final.outOfOrder,
      viewersWithWrongLikeSum: final.likeMismatches,
      fanout: work,
      stagesMs: stages,
      cpu: cpuReport,
    };
    const l = final.latency;
    const rows: Rows = [
      ['engine', options.engine],
      ['viewers connected / failed', `${fmt(opened.connected)} / ${fmt(opened.failed)}`],
      [
        'published (likes, comments) / s',
        `${fmt(options.likesPerSecond)} + ${fmt(options.commentsPerSecond)} for ${fmt(seconds, 1)} s`,
      ],
      ['like-deliveries / s (sum of count)', fmt(likeDeliveries)],
      ['comment deliveries / s', fmt(commentDeliveries)],
      [
        'comment latency p50 / p90 / p99 / max',
        `${fmt(l.p50, 1)} / ${fmt(l.p90, 1)} / ${fmt(l.p99, 1)} / ${fmt(l.max, 1)} ms (${fmt(l.count)} samples)`,
      ],
      [
        'same, collected by the realtime tier',
        serverLatency
          ? `p50 ${fmt(serverLatency.p50, 1)} / p99 ${fmt(serverLatency.p99, 1)} ms (${fmt(serverLatency.count)} samples)`
          : 'n/a',
      ],
      [
        'lost / duplicated / out-of-order comments',
        `${final.lostComments} / ${final.duplicatedComments} / ${final.outOfOrder}`,
      ],
      [
        'node stages p50 / p99 (bucket bounds)',
        `publish→receipt ≤${stages.publishToReceiptP50} / ≤${stages.publishToReceiptP99} ms, receipt→write ≤${stages.receiptToWriteP50} / ≤${stages.receiptToWriteP99} ms`,
      ],
      ['viewers whose like sum is wrong', `${final.likeMismatches} (total surplus ${final.likeSurplus})`],
      ['publishes refused', publisher.rejected],
      [
        'node: flushes / s, mean flush, socket writes / s',
        `${fmt(work.flushesPerSecond, 1)}, ${fmt(work.meanFlushMs, 1)} ms, ${fmt(work.socketWritesPerSecond)}`,
      ],
      ...cpuRows(cpuReport),
    ];
    return { rows, result, ok };
  } finally {
    pool?.close();
    await stack.stop();
  }
}

/**
 * The same latency as the platform's end-to-end system saw it: viewers' samples POSTed to the
 * node's /latency, carried to the dispatcher by heartbeats, summarised per topic over a minute.
 */
async function collectedLatency(
  dispatcherUrl: string,
): Promise<{ count: number; p50: number; p99: number } | undefined> {
  await new Promise((resolve) => setTimeout(resolve, 3500)); // the last reports and one heartbeat
  try {
    const response = await fetch(`${dispatcherUrl}/topics/${TOPIC}/latency`);
    if (!response.ok) return undefined;
    return (await response.json()) as { count: number; p50: number; p99: number };
  } catch {
    return undefined;
  }
}
