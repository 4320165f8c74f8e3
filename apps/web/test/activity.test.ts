import { describe, expect, it } from 'vitest';
import { addActivity, mergeActivity } from '../app/studio/[videoId]/_components/activity';

const M = 60_000;
const window = (last: number) =>
  Array.from({ length: 10 }, (_, i) => ({ minute: last - (9 - i) * M, likes: 0, comments: 0 }));

describe('studio activity', () => {
  it('adds live likes and comments to the current minute, opening new minutes as time moves on', () => {
    const base = window(100 * M);
    const same = addActivity(base, 100 * M + 5_000, 3, 1);
    expect(same).toHaveLength(10);
    expect(same.at(-1)).toEqual({ minute: 100 * M, likes: 3, comments: 1 });
    const later = addActivity(same, 102 * M + 1, 2, 0);
    expect(later).toHaveLength(10);
    expect(later.map((m) => m.minute).slice(-3)).toEqual([100 * M, 101 * M, 102 * M]);
    expect(later.at(-1)).toEqual({ minute: 102 * M, likes: 2, comments: 0 });
    expect(later.at(-3)).toEqual({ minute: 100 * M, likes: 3, comments: 1 });
    expect(base.at(-1)).toEqual({ minute: 100 * M, likes: 0, comments: 0 }); // not mutated
  });

  it('merges what was seen live into the server figures, dropping what fell out of the window', () => {
    const base = window(50 * M).map((m) => ({ ...m, likes: 1 }));
    const adds = [
      { minute: 30 * M, likes: 9, comments: 9 },
      { minute: 50 * M, likes: 4, comments: 2 },
    ];
    const merged = mergeActivity(base, adds);
    expect(merged.at(-1)).toEqual({ minute: 50 * M, likes: 5, comments: 2 });
    expect(merged.reduce((n, m) => n + m.likes, 0)).toBe(14);
  });
});
