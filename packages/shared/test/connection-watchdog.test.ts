import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { watchConnection } from '../src/server/connection-watchdog.js';

/** A client whose PINGs answer, or hang (a black-holed link), as `answers` says. */
function client() {
  const c = {
    status: 'ready',
    answers: true,
    pings: 0,
    reconnects: 0,
    ping: () => {
      c.pings++;
      return c.answers ? Promise.resolve('PONG') : new Promise<never>(() => {});
    },
    disconnect: (reconnect?: boolean) => {
      if (reconnect) c.reconnects++;
    },
  };
  return c;
}

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

describe('watchConnection', () => {
  it('leaves a connection that answers alone', async () => {
    const c = client();
    const stop = watchConnection(c);
    await vi.advanceTimersByTimeAsync(10_000);
    expect(c.pings).toBeGreaterThanOrEqual(19);
    expect(c.reconnects).toBe(0);
    stop();
  });

  it('makes the connection again within everyMs + timeoutMs of it going silent', async () => {
    const c = client();
    const stop = watchConnection(c, { everyMs: 500, timeoutMs: 1000 });
    await vi.advanceTimersByTimeAsync(2000);
    c.answers = false;
    await vi.advanceTimersByTimeAsync(1500);
    expect(c.reconnects).toBe(1);
    stop();
  });

  it('does nothing while the client is not connected (it is reconnecting on its own)', async () => {
    const c = client();
    c.answers = false;
    c.status = 'reconnecting';
    const stop = watchConnection(c);
    await vi.advanceTimersByTimeAsync(5000);
    expect(c.pings).toBe(0);
    expect(c.reconnects).toBe(0);
    stop();
  });
});
