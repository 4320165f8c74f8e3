import Fastify from 'fastify';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { ResyncLog } from '../src/fanout/resync-log.js';

afterEach(() => {
  vi.useRealTimers();
});

describe('resync log', () => {
  it('names 20 topics a second and sums up the rest in one line (a store loss resyncs them all)', async () => {
    vi.useFakeTimers();
    const log = Fastify().log;
    const lines: Array<{ fields: unknown; msg: unknown }> = [];
    vi.spyOn(log, 'warn').mockImplementation((fields: unknown, msg?: unknown) => {
      lines.push({ fields, msg });
    });
    const resyncs = new ResyncLog(log);
    for (let i = 0; i < 100_000; i++) resyncs.told(`video:${i}`, 'the log was lost');
    expect(lines).toHaveLength(20);
    await vi.advanceTimersByTimeAsync(1000);
    expect(lines).toHaveLength(21);
    expect(lines[20]).toEqual({
      fields: { topics: 99_980, lastWhy: 'the log was lost' },
      msg: 'viewers of more topics told to resync',
    });
    resyncs.told('video:late', 'gap given up');
    expect(lines).toHaveLength(22);
  });
});
