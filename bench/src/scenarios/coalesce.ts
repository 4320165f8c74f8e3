import { encodeTopicBatch } from '@ovation/realtime/encode-batch';
import { REACTIONS, type TWireEvent } from '@ovation/shared';
import type { Rows } from '../report.js';

/*
 * The cost of coalescing a topic's likes into one frame (realtime fanout/encode-batch.ts), once per
 * topic per flush — before the frame is written to every subscriber. Plain likes against likes
 * that name reactions (`byReaction`, `totals`, as the web app publishes them), in the same run, for
 * batches of 10, 100 and 1,000 likes: the median of 7 rounds of about 200,000 likes each.
 */

export interface CoalesceOptions {
  /** Likes per round (split into batches of each size). */
  likes: number;
}

const SIZES = [10, 100, 1000];
const ROUNDS = 7;

function batch(size: number, reactions: boolean): TWireEvent[] {
  return Array.from({ length: size }, (_, i) => ({
    id: `id${i}`,
    topic: 'video:bench',
    type: 'like',
    ts: 1,
    region: 'local',
    data: reactions
      ? {
          count: 2,
          byReaction: { [REACTIONS[i % REACTIONS.length] as string]: 2 },
          total: i * 2,
          totals: { like: i, love: i },
          sample: [{ id: `u${i}`, name: 'Viewer' }],
        }
      : { count: 2, total: i * 2, sample: [{ id: `u${i}`, name: 'Viewer' }] },
  }));
}

/** Nanoseconds per like to encode `events` over and over, about `likes` likes in all. */
function nsPerLike(events: readonly TWireEvent[], likes: number): number {
  const rounds = Math.max(1, Math.ceil(likes / events.length));
  let checksum = 0;
  const started = process.hrtime.bigint();
  for (let i = 0; i < rounds; i++) checksum += encodeTopicBatch(events).likes;
  const ns = Number(process.hrtime.bigint() - started);
  if (checksum !== rounds * events.length * 2) throw new Error('coalescing lost likes');
  return ns / (rounds * events.length);
}

const median = (values: number[]) => values.sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? 0;

export async function runCoalesce(options: CoalesceOptions): Promise<{ rows: Rows; result: object; ok: boolean }> {
  const rows: Rows = [];
  const result: Record<string, { plainNsPerLike: number; reactionsNsPerLike: number }> = {};
  for (const size of SIZES) {
    const plain = batch(size, false);
    const named = batch(size, true);
    // Warm-up, then the two variants alternate round by round (the machine is noisy).
    for (let i = 0; i < 2; i++) {
      nsPerLike(plain, options.likes);
      nsPerLike(named, options.likes);
    }
    const a: number[] = [];
    const b: number[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      a.push(nsPerLike(plain, options.likes));
      b.push(nsPerLike(named, options.likes));
    }
    const plainNs = median(a);
    const namedNs = median(b);
    result[`batch${size}`] = { plainNsPerLike: plainNs, reactionsNsPerLike: namedNs };
    rows.push([`batch of ${size} likes, plain`, `${plainNs.toFixed(1)} ns per like`]);
    rows.push([`batch of ${size} likes, with reactions`, `${namedNs.toFixed(1)} ns per like`]);
  }
  return { rows, result, ok: true };
}
