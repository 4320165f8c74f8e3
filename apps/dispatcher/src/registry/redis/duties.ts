import type { RedisClient } from '@ovation/shared/redis';
import type { DutyElection, FreshDuty } from '../registry.js';
import { tag } from './commands.js';

/*
 * Redis layout (under `prefix`), a duty's two keys under its own hash tag:
 *   <p>:duty:{<name>}        STRING holder of a periodic duty, with a TTL
 *   <p>:duty:{<name>}:held   STRING 'held' once someone held it in this store (claimDuty's `fresh`),
 *                            or since when claims without priority found it never held
 */

// Takes or extends a duty: 1 when ARGV[1] holds KEYS[1] for ARGV[2] ms from now. KEYS[2] says the
// duty was held in this store ('held'), or since when claims without priority (ARGV[4] ~= '1') found
// it never held: they wait ARGV[3] ms from then (DutyElection.claimDuty's `fresh`).
const CLAIM_DUTY = `
local current = redis.call('GET', KEYS[1])
if current == ARGV[1] then redis.call('PEXPIRE', KEYS[1], ARGV[2]) return 1 end
if current then return 0 end
local seen = redis.call('GET', KEYS[2])
local wait = tonumber(ARGV[3])
if seen ~= 'held' and ARGV[4] ~= '1' and wait > 0 then
  local clock = redis.call('TIME')
  local now = tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000)
  if not seen then
    redis.call('SET', KEYS[2], now)
    return 0
  end
  if now - tonumber(seen) < wait then return 0 end
end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
if seen ~= 'held' then redis.call('SET', KEYS[2], 'held') end
return 1`;

// Gives up a duty only if ARGV[1] holds it.
const RELEASE_DUTY = `
if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('DEL', KEYS[1]) end
return 1`;

export class RedisDutyElection implements DutyElection {
  constructor(
    private readonly redis: RedisClient,
    private readonly prefix: string,
  ) {}

  private key(name: string): string {
    return `${this.prefix}:duty:${tag(name)}`;
  }

  async claimDuty(name: string, holder: string, ttlMs: number, fresh?: FreshDuty): Promise<boolean> {
    const key = this.key(name);
    const result = await this.redis.eval(
      CLAIM_DUTY,
      2,
      key,
      `${key}:held`,
      holder,
      String(ttlMs),
      String(fresh?.waitMs ?? 0),
      fresh?.priority ? '1' : '0',
    );
    return result === 1;
  }

  async releaseDuty(name: string, holder: string): Promise<void> {
    await this.redis.eval(RELEASE_DUTY, 1, this.key(name), holder);
  }
}
