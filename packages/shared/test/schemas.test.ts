import { describe, expect, it } from 'vitest';
import { AppError } from '../src/errors.js';
import { MAX_EVENT_DATA_BYTES, utf8ByteLength } from '../src/limits.js';
import {
  ConnectQuerySchema,
  PublishBatchSchema,
  PublishEventSchema,
  RelayedEventSchema,
  reactionTotals,
} from '../src/schemas.js';
import { parseWith } from '../src/validate.js';

describe('wire schemas', () => {
  it('accepts a contract event and keeps the publisher data untouched', () => {
    const data = { count: 3, nested: { a: [1, 'two'] }, unicode: 'héllo ❤️' };
    expect(parseWith(PublishEventSchema, { topic: 'video:abc_1-2', type: 'like', data }).data).toEqual(data);
  });

  it('rejects bad topics, types and data, naming the field', () => {
    const bad = [
      [{ topic: 'video 1', type: 'like', data: {} }, 'body.topic'],
      [{ topic: 'x'.repeat(129), type: 'like', data: {} }, 'body.topic'],
      [{ topic: 'v', type: 'Like', data: {} }, 'body.type'],
      [{ topic: 'v', type: 'like', data: [] }, 'body.data'],
      [{ topic: 'v', type: 'like', data: { s: 'x'.repeat(MAX_EVENT_DATA_BYTES) } }, 'body.data'],
    ] as const;
    for (const [body, field] of bad) {
      expect(() => parseWith(PublishEventSchema, body)).toThrow(AppError);
      expect(() => parseWith(PublishEventSchema, body)).toThrow(field);
    }
  });

  it('takes likes per reaction from publishers only by the known names, summing to count', () => {
    const like = (data: object) => PublishEventSchema.safeParse({ topic: 'video:v', type: 'like', data }).success;
    expect(like({ count: 3, byReaction: { love: 2, funny: 1 }, totals: { love: 9 } })).toBe(true);
    expect(like({ count: 3, byReaction: { love: 2 } })).toBe(false); // does not sum to count
    expect(like({ count: 1, byReaction: { wow: 1 } })).toBe(false); // not a reaction
    expect(like({ count: 1, byReaction: { constructor: 1 } })).toBe(false);
    expect(like({ count: 2, byReaction: { love: 2.5, like: -0.5 } })).toBe(false);
    expect(like({ count: 1, totals: { wow: 1 } })).toBe(false);
  });

  it('takes a relayed like naming a reaction it does not know (a newer region), still summing to count', () => {
    const relayed = (data: object) =>
      RelayedEventSchema.safeParse({ id: 'x', topic: 'video:v', type: 'like', data, ts: 1, region: 'eu' }).success;
    expect(relayed({ count: 2, byReaction: { wow: 1, love: 1 }, totals: { wow: 4 } })).toBe(true);
    expect(relayed({ count: 2, byReaction: { wow: 1 } })).toBe(false);
    expect(relayed({ count: 1, byReaction: { 'no-such': 1 } })).toBe(false);
  });

  it('gives totals per reaction that sum to the total, `like` the rest', () => {
    expect(reactionTotals(10, { love: 3, funny: 2 })).toEqual({ love: 3, funny: 2, like: 5 });
    expect(reactionTotals(4, {})).toEqual({ like: 4 });
    // Counts beyond the total (a torn read) are cut to it.
    expect(reactionTotals(3, { love: 5 })).toEqual({ love: 3 });
    expect(reactionTotals(0, {})).toEqual({});
  });

  it('bounds a batch at 1000 events', () => {
    const event = { topic: 't', type: 'like', data: { count: 1 } };
    expect(parseWith(PublishBatchSchema, { events: Array(1000).fill(event) }).events).toHaveLength(1000);
    expect(() => parseWith(PublishBatchSchema, { events: Array(1001).fill(event) })).toThrow(/at most 1000/);
    expect(() => parseWith(PublishBatchSchema, { events: [] })).toThrow(/at least one/);
  });

  it('splits connect topics and validates each', () => {
    expect(parseWith(ConnectQuerySchema, { topics: 'a,b:c' }).topics).toEqual(['a', 'b:c']);
    expect(parseWith(ConnectQuerySchema, {}).topics).toEqual([]);
    expect(() => parseWith(ConnectQuerySchema, { topics: 'ok,not ok' }, 'query')).toThrow(/query.topics/);
  });

  it('counts UTF-8 bytes like an encoder', () => {
    for (const text of ['', 'abc', 'héllo', '❤️', '𝄞 clef', '\ud800']) {
      expect(utf8ByteLength(text)).toBe(new TextEncoder().encode(text).length);
    }
  });
});
