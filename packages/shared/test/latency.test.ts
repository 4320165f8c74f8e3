import { describe, expect, it } from 'vitest';
import {
  addLatencyBuckets,
  emptyLatencyBuckets,
  LATENCY_BUCKET_COUNT,
  latencyBucket,
  latencyPercentiles,
} from '../src/latency.js';

describe('latency buckets', () => {
  it('puts samples in the bucket whose upper bound holds them', () => {
    expect(latencyBucket(0)).toBe(0);
    expect(latencyBucket(5)).toBe(0);
    expect(latencyBucket(5.1)).toBe(1);
    expect(latencyBucket(99)).toBe(7);
    expect(latencyBucket(100_000)).toBe(LATENCY_BUCKET_COUNT - 1);
  });

  it('gives percentiles that track the samples, and merge exactly', () => {
    const a = emptyLatencyBuckets();
    const b = emptyLatencyBuckets();
    // 90 samples at ~12 ms, 9 at ~120 ms, 1 at ~900 ms, split over two sources.
    for (let i = 0; i < 90; i++) {
      const target = i % 2 ? a : b;
      const bucket = latencyBucket(12);
      target[bucket] = (target[bucket] ?? 0) + 1;
    }
    a[latencyBucket(120)] = 9;
    b[latencyBucket(900)] = 1;
    const total = emptyLatencyBuckets();
    addLatencyBuckets(total, a);
    addLatencyBuckets(total, b);
    const p = latencyPercentiles(total);
    expect(p.count).toBe(100);
    expect(p.p50).toBeGreaterThanOrEqual(10);
    expect(p.p50).toBeLessThanOrEqual(20);
    expect(p.p90).toBeLessThanOrEqual(20);
    expect(p.p99).toBeGreaterThanOrEqual(100);
    expect(p.p99).toBeLessThanOrEqual(150);
    expect(latencyPercentiles(emptyLatencyBuckets())).toEqual({ count: 0, p50: null, p90: null, p99: null });
  });
});
