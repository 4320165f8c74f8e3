/*
 * Client-reported delivery latency (publish → receipt in the browser), aggregated the same way
 * everywhere: counts in fixed millisecond buckets, which add up exactly across connections,
 * nodes and dispatchers, and give percentiles by interpolation within a bucket.
 */

/** Upper bounds (ms) of each bucket; a last bucket takes everything above. */
export const LATENCY_BOUNDS_MS = [5, 10, 20, 30, 40, 50, 75, 100, 150, 200, 300, 500, 750, 1000, 2000, 5000] as const;
export const LATENCY_BUCKET_COUNT = LATENCY_BOUNDS_MS.length + 1;
/** Largest sample accepted from a client (beyond: a wrong clock, not a latency). */
export const MAX_LATENCY_SAMPLE_MS = 60_000;

export function latencyBucket(ms: number): number {
  for (let i = 0; i < LATENCY_BOUNDS_MS.length; i++) if (ms <= (LATENCY_BOUNDS_MS[i] as number)) return i;
  return LATENCY_BOUNDS_MS.length;
}

export function emptyLatencyBuckets(): number[] {
  return new Array<number>(LATENCY_BUCKET_COUNT).fill(0);
}

export function addLatencyBuckets(into: number[], from: readonly number[]): void {
  for (let i = 0; i < LATENCY_BUCKET_COUNT; i++) into[i] = (into[i] ?? 0) + (from[i] ?? 0);
}

export interface LatencyPercentiles {
  count: number;
  p50: number | null;
  p90: number | null;
  p99: number | null;
}

/** Percentiles (ms) from bucket counts, interpolated linearly inside the bucket that holds them. */
export function latencyPercentiles(buckets: readonly number[]): LatencyPercentiles {
  const count = buckets.reduce((n, c) => n + c, 0);
  const at = (q: number): number | null => {
    if (count === 0) return null;
    const rank = q * count;
    let seen = 0;
    for (let i = 0; i < LATENCY_BUCKET_COUNT; i++) {
      const inBucket = buckets[i] ?? 0;
      if (inBucket > 0 && seen + inBucket >= rank) {
        const low = i === 0 ? 0 : (LATENCY_BOUNDS_MS[i - 1] as number);
        const high = i < LATENCY_BOUNDS_MS.length ? (LATENCY_BOUNDS_MS[i] as number) : low * 2;
        return Math.round(low + ((rank - seen) / inBucket) * (high - low));
      }
      seen += inBucket;
    }
    return LATENCY_BOUNDS_MS[LATENCY_BOUNDS_MS.length - 1] as number;
  };
  return { count, p50: at(0.5), p90: at(0.9), p99: at(0.99) };
}
