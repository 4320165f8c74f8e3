import { describe, expect, it } from 'vitest';
import { Backoff, Failover } from '../src/server/retry.js';

const delays = (backoff: Backoff, n: number) => Array.from({ length: n }, () => backoff.next());

describe('Backoff', () => {
  it('doubles from the base up to the cap, and starts over after reset()', () => {
    const backoff = new Backoff({ baseMs: 100, maxMs: 2000, jitter: 'none' });
    expect(delays(backoff, 7)).toEqual([100, 200, 400, 800, 1600, 2000, 2000]);
    expect(backoff.failures).toBe(7);
    backoff.reset();
    expect(backoff.failures).toBe(0);
    expect(delays(backoff, 2)).toEqual([100, 200]);
  });

  it('jitters within the capped delay: half between half and all of it, full between 0 and it', () => {
    const half = new Backoff({ baseMs: 25, maxMs: 1000, jitter: 'half', random: () => 0.5 });
    expect(delays(half, 8)).toEqual([18, 37, 75, 150, 300, 600, 750, 750]);
    const full = new Backoff({ baseMs: 100, maxMs: 5000, jitter: 'full', random: () => 0.5 });
    expect(delays(full, 8)).toEqual([50, 100, 200, 400, 800, 1600, 2500, 2500]);
    const top = new Backoff({ baseMs: 100, maxMs: 5000, jitter: 'full', random: () => 0.999 });
    expect(delays(top, 1)).toEqual([99]);
  });

  it('draws from Math.random when none is given, within the bounds', () => {
    const backoff = new Backoff({ baseMs: 100, maxMs: 400, jitter: 'half' });
    for (const [i, delay] of delays(backoff, 20).entries()) {
      const cap = Math.min(400, 100 * 2 ** i);
      expect(delay).toBeGreaterThanOrEqual(cap / 2);
      expect(delay).toBeLessThanOrEqual(cap);
    }
  });
});

describe('Failover', () => {
  it('moves to the next URL after a failure, and later calls start there', async () => {
    const failover = new Failover(['a', 'b', 'c']);
    const tried: string[] = [];
    const result = await failover.run(async (base) => {
      tried.push(base);
      if (base !== 'b') throw new Error(`${base} is down`);
      return base;
    });
    expect(result).toBe('b');
    expect(tried).toEqual(['a', 'b']);
    expect(failover.base).toBe('b');
    expect(failover.failures).toBe(1);
  });

  it('tries each URL once by default and throws the last error', async () => {
    const failover = new Failover(['a', 'b']);
    const tried: string[] = [];
    await expect(
      failover.run(async (base) => {
        tried.push(base);
        throw new Error(`${base} is down`);
      }),
    ).rejects.toThrow('b is down');
    expect(tried).toEqual(['a', 'b']);
    expect(failover.base).toBe('a');
  });

  it('stops at an error that is not retryable and stays on the URL', async () => {
    const failover = new Failover(['a', 'b'], { retryable: (error) => (error as Error).message !== 'bad request' });
    const tried: string[] = [];
    await expect(
      failover.run(async (base) => {
        tried.push(base);
        throw new Error('bad request');
      }),
    ).rejects.toThrow('bad request');
    expect(tried).toEqual(['a']);
    expect(failover.base).toBe('a');
    expect(failover.failures).toBe(0);
  });

  it('makes `attempts` attempts in all, round the URLs, waiting the backoff between them', async () => {
    const failover = new Failover(['a', 'b'], {
      attempts: 5,
      backoff: { baseMs: 20, maxMs: 20, jitter: 'none' },
    });
    const at: Array<[string, number]> = [];
    const started = performance.now();
    await expect(
      failover.run(async (base) => {
        at.push([base, performance.now() - started]);
        throw new Error('down');
      }),
    ).rejects.toThrow('down');
    expect(at.map(([base]) => base)).toEqual(['a', 'b', 'a', 'b', 'a']);
    for (let i = 1; i < at.length; i++) {
      expect((at[i]?.[1] ?? 0) - (at[i - 1]?.[1] ?? 0)).toBeGreaterThanOrEqual(19);
    }
  });
});
