/**
 * A latency histogram that merges exactly across processes: 0.1 ms buckets up to 1 s, then 10 ms
 * buckets up to 60 s (values beyond land in the last bucket). 15,900 counters, sent as an array.
 */
const FINE_BUCKETS = 10_000; // 0.0 – 999.9 ms
const COARSE_BUCKETS = 5_900; // 1,000 – 59,990 ms
export const HISTOGRAM_SIZE = FINE_BUCKETS + COARSE_BUCKETS;

export function newHistogram(): Uint32Array {
  return new Uint32Array(HISTOGRAM_SIZE);
}

export function record(histogram: Uint32Array, ms: number): void {
  const value = Math.max(ms, 0);
  const index =
    value < 1000
      ? Math.floor(value * 10)
      : Math.min(HISTOGRAM_SIZE - 1, FINE_BUCKETS + Math.floor((value - 1000) / 10));
  histogram[index] = (histogram[index] ?? 0) + 1;
}

export function merge(into: Uint32Array, from: ArrayLike<number>): void {
  for (let i = 0; i < HISTOGRAM_SIZE; i++) into[i] = (into[i] ?? 0) + (from[i] ?? 0);
}

function bucketValue(index: number): number {
  return index < FINE_BUCKETS ? index / 10 : 1000 + (index - FINE_BUCKETS) * 10;
}

export interface LatencySummary {
  count: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
}

export function summarize(histogram: Uint32Array): LatencySummary {
  let count = 0;
  for (const n of histogram) count += n;
  const at = (q: number) => {
    const rank = Math.ceil(q * count);
    let seen = 0;
    for (let i = 0; i < HISTOGRAM_SIZE; i++) {
      seen += histogram[i] ?? 0;
      if (seen >= rank && seen > 0) return bucketValue(i);
    }
    return 0;
  };
  let max = 0;
  for (let i = HISTOGRAM_SIZE - 1; i >= 0; i--) {
    if ((histogram[i] ?? 0) > 0) {
      max = bucketValue(i);
      break;
    }
  }
  return { count, p50: at(0.5), p90: at(0.9), p99: at(0.99), max };
}
