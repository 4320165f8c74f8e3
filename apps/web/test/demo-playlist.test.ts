import { describe, expect, it } from 'vitest';
import { demoPlaylist } from '../app/demo/live.m3u8/route';

const field = (text: string, name: string) => Number(new RegExp(`#${name}:(\\d+)`).exec(text)?.[1]);
const segments = (text: string) => text.split('\n').filter((l) => l.endsWith('.ts'));

describe('demo live playlist', () => {
  it('is a live sliding window: no ENDLIST, four segments, sequence advancing with the clock', () => {
    const at = 1_000_000_000_000;
    const a = demoPlaylist(at);
    const b = demoPlaylist(at + 2000);
    expect(a).not.toContain('#EXT-X-ENDLIST');
    expect(segments(a)).toHaveLength(4);
    expect(field(b, 'EXT-X-MEDIA-SEQUENCE')).toBe(field(a, 'EXT-X-MEDIA-SEQUENCE') + 1);
    // The window slides by one: b's first three segments are a's last three.
    expect(segments(b).slice(0, 3)).toEqual(segments(a).slice(1));
  });

  it('loops the five segments with a discontinuity at each wrap, counted consistently', () => {
    for (let step = 0; step < 12; step++) {
      const text = demoPlaylist(step * 2000 + 40_000);
      const sequence = field(text, 'EXT-X-MEDIA-SEQUENCE');
      const lines = text.split('\n');
      segments(text).forEach((segment, i) => {
        expect(segment).toBe(`seg${(sequence + i) % 5}.ts`);
        const at = lines.indexOf(segment);
        const tagged = lines[at - 2] === '#EXT-X-DISCONTINUITY';
        expect(tagged).toBe((sequence + i) % 5 === 0);
      });
      // Discontinuities before the window = multiples of 5 below the first sequence number.
      expect(field(text, 'EXT-X-DISCONTINUITY-SEQUENCE')).toBe(Math.ceil(sequence / 5));
    }
  });
});
