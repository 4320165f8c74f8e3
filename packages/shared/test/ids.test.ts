import { describe, expect, it } from 'vitest';
import { EventIdGenerator, eventIdTime } from '../src/ids.js';

describe('EventIdGenerator', () => {
  it('makes strictly increasing ids within a generator, even when the clock steps back', () => {
    const ids = new EventIdGenerator('eu', 'p1');
    const times = [1000, 1000, 1000, 999, 500, 1001, 1001, 2000];
    const made = times.map((t) => ids.next(t));
    const sorted = [...made].sort();
    expect(made).toEqual(sorted);
    expect(new Set(made).size).toBe(made.length);
  });

  it('makes ids unique across regions and processes for the same instant', () => {
    const a = new EventIdGenerator('eu', 'p1').next(5000);
    const b = new EventIdGenerator('us', 'p1').next(5000);
    const c = new EventIdGenerator('eu', 'p2').next(5000);
    expect(new Set([a, b, c]).size).toBe(3);
  });

  it('keeps the publish time readable at the front', () => {
    const now = Date.now();
    expect(eventIdTime(new EventIdGenerator('local').next(now))).toBe(now);
    expect(eventIdTime('garbage')).toBeUndefined();
  });

  it('does not repeat after more than 36^4 ids in one millisecond', () => {
    const ids = new EventIdGenerator('local', 'x');
    const seen = new Set<string>();
    let previous = '';
    for (let i = 0; i < 36 ** 4 + 10; i++) {
      const id = ids.next(42);
      if (i >= 36 ** 4 - 5) {
        expect(id > previous).toBe(true);
        seen.add(id);
      }
      previous = id;
    }
    expect(seen.size).toBe(15);
  });
});
