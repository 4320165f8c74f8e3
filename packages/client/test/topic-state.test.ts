import { describe, expect, it } from 'vitest';
import { foldTopicState, snapshotEvent, type TopicState } from '../src/topic-state.js';
import type { EventEnvelope } from '../src/wire.js';

const event = (type: string, data: Record<string, unknown>): EventEnvelope => ({
  id: 'e',
  topic: 'video:v1',
  type,
  data,
  ts: 1,
});
const fold = (...events: EventEnvelope[]) =>
  events.reduce<TopicState | undefined>((state, e) => foldTopicState(state, e), undefined);

describe('foldTopicState', () => {
  it("keeps what the topic's events say: the snapshot, then counts, totals and status after it", () => {
    expect(
      fold(
        event('snapshot', { viewers: 3, likes: 10, status: 'live' }),
        event('viewers', { count: 5 }),
        event('like', { count: 2 }),
        event('like', { count: 1, total: 20 }),
        // A total behind one already known (totals can arrive out of step) does not lower it.
        event('like', { count: 1, total: 15 }),
        event('status', { videoId: 'v1', status: 'ended' }),
        event('comment', { id: 'c1' }),
      ),
    ).toEqual({ viewers: 5, likes: 20, reactions: { like: 20 }, status: 'ended' });
  });

  it('keeps the totals per reaction: from the snapshot, then per like event (its totals, else its byReaction)', () => {
    expect(
      fold(
        event('snapshot', { viewers: 3, likes: 10, reactions: { like: 7, love: 3 } }),
        event('like', { count: 2, byReaction: { funny: 2 } }),
        event('like', {
          count: 3,
          byReaction: { love: 1, like: 2 },
          total: 16,
          totals: { like: 9, love: 4, funny: 3 },
        }),
        // Totals behind those known (they can arrive out of step) lower no reaction.
        event('like', { count: 1, byReaction: { love: 1 }, total: 14, totals: { like: 9, love: 5 } }),
        // A malformed byReaction counts as `like`.
        event('like', { count: 1, byReaction: { love: -1 } }),
      ),
    ).toEqual({ viewers: 3, likes: 17, reactions: { like: 9, love: 5, funny: 3 } });
    // Totals that disagree with the tier's count (another publisher's) are fitted to the total.
    expect(
      fold(
        event('snapshot', { viewers: 1, likes: 10 }),
        event('like', { count: 3, byReaction: { celebrate: 3 }, total: 3, totals: { celebrate: 3 } }),
      ),
    ).toEqual({ viewers: 1, likes: 10, reactions: { like: 7, celebrate: 3 } });
    // A total without totals: the event's own reactions count, `like` makes up the rest.
    expect(
      fold(
        event('snapshot', { viewers: 1, likes: 5 }),
        event('like', { count: 2, total: 7, byReaction: { celebrate: 2 } }),
      ),
    ).toEqual({ viewers: 1, likes: 7, reactions: { like: 5, celebrate: 2 } });
  });

  it('knows only what it was told: no like total before a snapshot or a total, and malformed fields are ignored', () => {
    expect(fold(event('viewers', { count: 2 }), event('like', { count: 3 }))).toEqual({ viewers: 2 });
    expect(
      fold(
        event('snapshot', { viewers: 1, likes: 4 }),
        event('viewers', { count: -1 }),
        event('viewers', { count: '9' }),
        event('like', { count: 1.5, total: Number.NaN }),
        event('status', { status: 7 }),
        event('snapshot', { viewers: 'x', likes: null }),
      ),
    ).toEqual({ viewers: 1, likes: 4, reactions: { like: 4 }, status: undefined });
  });

  it('is a snapshot for a late joiner only once the count and the total are known', () => {
    expect(snapshotEvent('video:v1', 'e9', { viewers: 2 }, 5)).toBeUndefined();
    expect(snapshotEvent('video:v1', 'e9', undefined, 5)).toBeUndefined();
    expect(snapshotEvent('video:v1', 'e9', { viewers: 2, likes: 0, status: 'live' }, 5)).toEqual({
      id: 'e9',
      topic: 'video:v1',
      type: 'snapshot',
      data: { viewers: 2, likes: 0, status: 'live' },
      ts: 5,
      replayed: true,
    });
  });
});
