import { randomBytes } from './random.js';

/**
 * Event ids: `<ms:9 base36><seq:4 base36>-<region>-<process>`.
 *
 * Unique across processes and regions (region + a random per-process tag) and strictly increasing
 * for ids made by one generator, so events of a topic published through one dispatcher sort in
 * publish order. The leading publish time lets history find the neighbourhood of an id quickly.
 */
export class EventIdGenerator {
  private lastMs = 0;
  private seq = 0;
  private readonly suffix: string;

  constructor(region: string, processTag: string = randomTag()) {
    this.suffix = `-${region}-${processTag}`;
  }

  next(now: number = Date.now()): string {
    // A clock that steps back must not reorder ids: stay on the last millisecond and count up.
    if (now > this.lastMs) {
      this.lastMs = now;
      this.seq = 0;
    } else {
      this.seq++;
      if (this.seq >= 36 ** 4) {
        this.lastMs++;
        this.seq = 0;
      }
    }
    return this.lastMs.toString(36).padStart(9, '0') + this.seq.toString(36).padStart(4, '0') + this.suffix;
  }
}

/** Publish time (ms since epoch) encoded at the front of an id, or undefined for a foreign id. */
export function eventIdTime(id: string): number | undefined {
  if (id.length < 13) return undefined;
  const ms = Number.parseInt(id.slice(0, 9), 36);
  return Number.isFinite(ms) ? ms : undefined;
}

/** A short random tag, URL- and topic-safe. */
export function randomTag(bytes = 6): string {
  let out = '';
  for (const byte of randomBytes(bytes)) out += byte.toString(36).padStart(2, '0');
  return out;
}
