import { emptyLatencyBuckets, LATENCY_BUCKET_COUNT } from '@ovation/shared';
import type { RedisClient } from '@ovation/shared/redis';
import { LATENCY_WINDOW_MS, type LatencyStats, latencySlot, latencyWindowSlots } from '../registry.js';
import { tag } from './commands.js';

/*
 * Redis layout (under `prefix`), beside the topic's other keys:
 *   <p>:latency:{<t>}:<slot>  HASH  bucket index -> client latency samples (expires after 2 windows)
 */
export class RedisLatencyStats implements LatencyStats {
  constructor(
    private readonly redis: RedisClient,
    private readonly prefix: string,
  ) {}

  private key(topic: string, slot: number): string {
    return `${this.prefix}:latency:${tag(topic)}:${slot}`;
  }

  async recordLatency(counts: Readonly<Record<string, readonly number[]>>, now: number): Promise<void> {
    const slot = latencySlot(now);
    const commands: Array<Promise<unknown>> = [];
    for (const [topic, buckets] of Object.entries(counts)) {
      const key = this.key(topic, slot);
      const increments = buckets.flatMap((n, i) => (n > 0 ? [String(i), n] : []));
      if (increments.length === 0) continue;
      // A topic's slot hash in one atomic step (one hash slot): its increments and its expiry.
      const multi = this.redis.multi();
      for (let i = 0; i < increments.length; i += 2)
        multi.hincrby(key, increments[i] as string, increments[i + 1] as number);
      multi.pexpire(key, LATENCY_WINDOW_MS * 2);
      commands.push(
        multi.exec().then((replies) => {
          for (const [error] of replies ?? []) if (error) throw error;
        }),
      );
    }
    await Promise.all(commands);
  }

  async latencyBuckets(topic: string, now: number): Promise<number[]> {
    const replies = await Promise.all(latencyWindowSlots(now).map((slot) => this.redis.hgetall(this.key(topic, slot))));
    const total = emptyLatencyBuckets();
    for (const reply of replies) {
      for (const [index, raw] of Object.entries(reply)) {
        const i = Number(index);
        if (i >= 0 && i < LATENCY_BUCKET_COUNT) total[i] = (total[i] ?? 0) + Number(raw);
      }
    }
    return total;
  }
}
