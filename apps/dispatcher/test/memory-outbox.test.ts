import { describe, expect, it } from 'vitest';
import { MemoryOutbox } from '../src/relay/outbox.js';

const ids = (entries: Array<{ id: string }>) => entries.map((e) => e.id);

describe('MemoryOutbox', () => {
  it('reads in id order after a given id, at most `count`, and drops the oldest past maxEvents', async () => {
    const dropped: number[] = [];
    const outbox = new MemoryOutbox(['eu'], 5, Number.POSITIVE_INFINITY, (_peer, n) => dropped.push(n));
    for (let n = 1; n <= 7; n++) outbox.add([`{"n":${n}}`]);
    expect(dropped).toEqual([1, 1]);
    expect(outbox.dropped).toBe(2);
    expect(ids(await outbox.read('eu', '0', 100, 0))).toEqual(['3-0', '4-0', '5-0', '6-0', '7-0']);
    expect(ids(await outbox.read('eu', '4-0', 2, 0))).toEqual(['5-0', '6-0']);
    expect(ids(await outbox.read('eu', '7-0', 10, 0))).toEqual([]);
    expect(await outbox.size('eu')).toBe(5);
  });

  it('acks from the front, from the middle, and ids already dropped', async () => {
    const outbox = new MemoryOutbox(['eu'], 100);
    for (let n = 1; n <= 6; n++) outbox.add([`{"n":${n}}`, `{"m":${n}}`]);
    await outbox.ack('eu', ['1-0', '2-0']);
    expect(await outbox.size('eu')).toBe(8);
    await outbox.ack('eu', ['1-0', '4-0', '6-0']);
    expect(ids(await outbox.read('eu', '0', 100, 0))).toEqual(['3-0', '5-0']);
    expect(await outbox.size('eu')).toBe(4);
    outbox.add(['{"n":7}']);
    expect(ids(await outbox.read('eu', '3-0', 100, 0))).toEqual(['5-0', '7-0']);
  });

  it('wakes a blocked read when an entry is added', async () => {
    const outbox = new MemoryOutbox(['eu'], 100);
    const reading = outbox.read('eu', '0', 10, 10_000);
    outbox.add(['{"n":1}']);
    expect(ids(await reading)).toEqual(['1-0']);
    await outbox.close();
  });
});
