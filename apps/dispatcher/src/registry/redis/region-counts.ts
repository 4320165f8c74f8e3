import type { RedisClient } from '@ovation/shared/redis';
import type { RegionCounts } from '../registry.js';

/*
 * Redis layout (under `prefix`), one hash tag for all of it — a few reports, each replaced whole:
 *   <p>:{regions}:list            SET   other regions that reported viewer counts
 *   <p>:{regions}:<r>:counts      HASH  topic -> viewers in region r (its last report; expires)
 */

/** Field that marks a region's count report as present (not a valid topic name). */
const REPORTED = '.reported';

// Replaces a region's report. KEYS: its counts hash, the regions set. ARGV: region, ttl ms, then
// topic, count pairs.
const SET_REPORT = `
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], '${REPORTED}', '1', unpack(ARGV, 3))
redis.call('PEXPIRE', KEYS[1], ARGV[2])
redis.call('SADD', KEYS[2], ARGV[1])
return 1`;

/** Pairs per HSET call inside the script: Lua's unpack has a stack limit. */
const MAX_UNPACK = 4000;

export class RedisRegionCounts implements RegionCounts {
  constructor(
    private readonly redis: RedisClient,
    private readonly prefix: string,
  ) {}

  private list(): string {
    return `${this.prefix}:{regions}:list`;
  }

  private report(region: string): string {
    return `${this.prefix}:{regions}:${region}:counts`;
  }

  async setRegionCounts(region: string, counts: Readonly<Record<string, number>>, ttlMs: number): Promise<void> {
    const pairs = Object.entries(counts).flatMap(([topic, n]) => [topic, String(n)]);
    const key = this.report(region);
    // One atomic replace when it fits one unpack; a larger report is written whole in a MULTI (one slot).
    if (pairs.length <= MAX_UNPACK) {
      await this.redis.eval(SET_REPORT, 2, key, this.list(), region, String(ttlMs), ...pairs);
      return;
    }
    const multi = this.redis.multi().del(key).hset(key, REPORTED, '1');
    for (let i = 0; i < pairs.length; i += MAX_UNPACK) multi.hset(key, ...pairs.slice(i, i + MAX_UNPACK));
    multi.pexpire(key, ttlMs).sadd(this.list(), region);
    const replies = (await multi.exec()) ?? [];
    for (const [error] of replies) if (error) throw error;
  }

  async regionCounts(): Promise<Map<string, Map<string, number>>> {
    const regions = await this.redis.smembers(this.list());
    const replies = await Promise.all(regions.map((region) => this.redis.hgetall(this.report(region))));
    const out = new Map<string, Map<string, number>>();
    regions.forEach((region, i) => {
      const { [REPORTED]: reported, ...hash } = replies[i] ?? {};
      if (reported !== undefined) out.set(region, new Map(Object.entries(hash).map(([t, n]) => [t, Number(n) || 0])));
    });
    return out;
  }

  async regionCountsFor(topic: string): Promise<Map<string, number>> {
    const regions = await this.redis.smembers(this.list());
    const replies = await Promise.all(regions.map((region) => this.redis.hmget(this.report(region), REPORTED, topic)));
    const out = new Map<string, number>();
    regions.forEach((region, i) => {
      const [reported, count] = replies[i] ?? [];
      if (reported !== null && reported !== undefined) out.set(region, Number(count ?? 0) || 0);
    });
    return out;
  }
}
