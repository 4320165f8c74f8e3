import { emptyLatencyBuckets, LATENCY_BOUNDS_MS, latencyBucket } from '@ovation/shared';
import { Histogram, type Registry } from 'prom-client';

/*
 * The realtime tier's end of the end-to-end latency system. Browsers (and the bench) POST samples
 * of publish → receipt latency; the node keeps them as
 *   - a Prometheus histogram (realtime_client_latency_seconds), for dashboards, and
 *   - per-topic bucket counts since its last heartbeat, which the heartbeat carries to the
 *     dispatcher tier, where GET /topics/:topic/latency gives the topic's p50/p99 over the last
 *     minute across every node.
 */
export class LatencyCollector {
  private pending = new Map<string, number[]>();
  private readonly histogram: Histogram;

  constructor(registry: Registry) {
    this.histogram = new Histogram({
      name: 'realtime_client_latency_seconds',
      help: 'Publish to receipt latency as reported by clients.',
      buckets: LATENCY_BOUNDS_MS.map((ms) => ms / 1000),
      registers: [registry],
    });
  }

  record(topic: string, samples: readonly number[]): void {
    let buckets = this.pending.get(topic);
    if (!buckets) {
      buckets = emptyLatencyBuckets();
      this.pending.set(topic, buckets);
    }
    for (const ms of samples) {
      const i = latencyBucket(ms);
      buckets[i] = (buckets[i] ?? 0) + 1;
      this.histogram.observe(ms / 1000);
    }
  }

  /** Takes what was collected since the last call, for at most `maxTopics` topics (for the next heartbeat). */
  drain(maxTopics: number): Record<string, number[]> | undefined {
    if (this.pending.size === 0) return undefined;
    const out: Record<string, number[]> = {};
    let taken = 0;
    for (const [topic, buckets] of this.pending) {
      if (taken++ >= maxTopics) break;
      out[topic] = buckets;
      this.pending.delete(topic);
    }
    return out;
  }

  /** Puts back counts whose heartbeat failed, so the next one carries them. */
  restore(counts: Record<string, number[]>): void {
    for (const [topic, buckets] of Object.entries(counts)) {
      const current = this.pending.get(topic) ?? emptyLatencyBuckets();
      buckets.forEach((n, i) => {
        current[i] = (current[i] ?? 0) + n;
      });
      this.pending.set(topic, current);
    }
  }
}
