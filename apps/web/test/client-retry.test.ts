import { describe, expect, it } from 'vitest';
import { ApiError } from '../lib/client/api';
import { isTransient, newIdempotencyKey, retryOnOutage } from '../lib/client/retry';

/* The browser's retry policy: which failures it retries, how often, how long it waits. */

describe('retryOnOutage', () => {
  const unavailable = new ApiError(503, 'UNAVAILABLE', 'down', 1);

  it('retries outages and lost answers, never an answer the server meant', () => {
    expect(isTransient(unavailable)).toBe(true);
    expect(isTransient(new ApiError(502, 'ERROR', 'Bad Gateway'))).toBe(true);
    expect(isTransient(new TypeError('Failed to fetch'))).toBe(true);
    for (const [status, code] of [
      [400, 'VALIDATION_FAILED'],
      [403, 'BANNED'],
      [409, 'CONFLICT'],
      [429, 'RATE_LIMITED'],
      [500, 'INTERNAL'],
    ] as const) {
      expect([code, isTransient(new ApiError(status, code, 'no'))]).toEqual([code, false]);
    }
  });

  it('gives up after three retries', () => {
    expect([0, 1, 2, 3].map((failures) => retryOnOutage.retry(failures, unavailable))).toEqual([
      true,
      true,
      true,
      false,
    ]);
    expect(retryOnOutage.retry(0, new ApiError(429, 'RATE_LIMITED', 'slow down', 1))).toBe(false);
  });

  it('backs off, jittered, never sooner than Retry-After', () => {
    for (let i = 0; i < 50; i++) {
      const first = retryOnOutage.retryDelay(0, new TypeError('Failed to fetch'));
      expect(first).toBeGreaterThanOrEqual(250);
      expect(first).toBeLessThanOrEqual(500);
      const third = retryOnOutage.retryDelay(2, new TypeError('Failed to fetch'));
      expect(third).toBeGreaterThanOrEqual(1000);
      expect(third).toBeLessThanOrEqual(2000);
      expect(retryOnOutage.retryDelay(0, unavailable)).toBe(1000);
    }
  });

  it('makes keys the server accepts, a new one each time', () => {
    const keys = new Set(Array.from({ length: 100 }, newIdempotencyKey));
    expect(keys.size).toBe(100);
    for (const key of keys) expect(key).toMatch(/^[0-9a-f]{32}$/);
  });
});
