import { BENCH_TOKEN } from './stack.js';

/** Reads a service's Prometheus /metrics (internal token required) into name{labels} → value. */
export async function scrape(url: string): Promise<Map<string, number>> {
  const response = await fetch(`${url}/metrics`, { headers: { authorization: `Bearer ${BENCH_TOKEN}` } });
  if (!response.ok) throw new Error(`${url}/metrics answered ${response.status}`);
  const text = await response.text();
  const values = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line.startsWith('#') || line.length === 0) continue;
    const space = line.lastIndexOf(' ');
    values.set(line.slice(0, space), Number(line.slice(space + 1)));
  }
  return values;
}

/** Sum of every series of `name` (any labels). */
export function total(metrics: Map<string, number>, name: string): number {
  let sum = 0;
  for (const [key, value] of metrics) {
    if (key === name || key.startsWith(`${name}{`)) sum += value;
  }
  return sum;
}

/** Fan-out work of a realtime node between two scrapes. */
export function fanoutWork(before: Map<string, number>, after: Map<string, number>, seconds: number) {
  const delta = (name: string) => total(after, name) - total(before, name);
  const flushes = delta('realtime_fanout_seconds_count');
  return {
    flushesPerSecond: flushes / seconds,
    meanFlushMs: flushes > 0 ? (delta('realtime_fanout_seconds_sum') / flushes) * 1000 : 0,
    socketWritesPerSecond: delta('realtime_socket_writes_total') / seconds,
    eventsPerTopicFlush:
      delta('realtime_flush_events_count') > 0
        ? delta('realtime_flush_events_sum') / delta('realtime_flush_events_count')
        : 0,
  };
}

/**
 * Quantile (upper bound of the bucket holding it, in ms) of a Prometheus histogram's growth
 * between two scrapes, over all label sets.
 */
export function histogramQuantileMs(
  before: Map<string, number>,
  after: Map<string, number>,
  name: string,
  q: number,
): number | undefined {
  const buckets = new Map<number, number>();
  for (const [key, value] of after) {
    if (!key.startsWith(`${name}_bucket{`)) continue;
    const le = /le="([^"]+)"/.exec(key)?.[1];
    if (le === undefined) continue;
    const bound = le === '+Inf' ? Number.POSITIVE_INFINITY : Number(le);
    buckets.set(bound, (buckets.get(bound) ?? 0) + value - (before.get(key) ?? 0));
  }
  const sorted = [...buckets].sort((a, b) => a[0] - b[0]);
  const count = sorted.at(-1)?.[1] ?? 0;
  if (count === 0) return undefined;
  const found = sorted.find(([, cumulative]) => cumulative >= q * count);
  return found ? found[0] * 1000 : undefined;
}
