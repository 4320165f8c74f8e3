import { type TWireEvent, WireEventSchema } from '@ovation/shared';
import type { Redis } from 'ioredis';
import { DEFAULT_HISTORY_LIMITS, type HistoryLimits, type HistoryStore, isHistoryEvent } from './history.js';

/*
 * Redis Streams: <prefix>:history:<topic>, one entry per event ({ e: wire JSON }), capped at about
 * maxEvents (XADD MAXLEN ~) and trimmed by age (XTRIM MINID) on every append. Entries from every
 * dispatcher land in one stream, so all readers replay one order.
 *
 * Cost: one script call per topic per publish (not one command per event), with each event's JSON
 * as encoded once by the publisher. Guarded by `npm run bench -- --scenario dispatch`.
 */

// KEYS[1] the stream; ARGV[1] max length; ARGV[2] oldest id kept; ARGV[3..] events as JSON.
const APPEND = `
for i = 3, #ARGV do redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[1], '*', 'e', ARGV[i]) end
redis.call('XTRIM', KEYS[1], 'MINID', '~', ARGV[2])
return #ARGV - 2`;

type WithAppend = Redis & {
  ovationHistoryAppend(key: string, maxLen: string, minId: string, ...events: string[]): Promise<number>;
};
export class RedisHistory implements HistoryStore {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
    private readonly limits: HistoryLimits = DEFAULT_HISTORY_LIMITS,
    private readonly now: () => number = Date.now,
  ) {
    if (!('ovationHistoryAppend' in redis))
      redis.defineCommand('ovationHistoryAppend', { numberOfKeys: 1, lua: APPEND });
  }

  private key(topic: string): string {
    return `${this.prefix}:history:${topic}`;
  }

  async append(events: readonly TWireEvent[], encoded?: readonly string[]): Promise<void> {
    const byTopic = new Map<string, string[]>();
    events.forEach((event, i) => {
      if (!isHistoryEvent(event)) return;
      let list = byTopic.get(event.topic);
      if (!list) {
        list = [];
        byTopic.set(event.topic, list);
      }
      list.push(encoded?.[i] ?? JSON.stringify(event));
    });
    if (byTopic.size === 0) return;
    const redis = this.redis as WithAppend;
    const maxLen = String(this.limits.maxEvents);
    const minId = `${Math.max(0, this.now() - this.limits.maxAgeMs)}-0`;
    await Promise.all(
      [...byTopic].map(([topic, jsons]) => redis.ovationHistoryAppend(this.key(topic), maxLen, minId, ...jsons)),
    );
  }

  async since(topic: string, afterId: string): Promise<{ complete: boolean; events: TWireEvent[] }> {
    const minId = `${Math.max(0, this.now() - this.limits.maxAgeMs)}-0`;
    const entries = await this.redis.xrange(this.key(topic), minId, '+', 'COUNT', this.limits.maxEvents * 2);
    const events: TWireEvent[] = [];
    for (const [, fields] of entries) {
      const raw = fields[1];
      if (fields[0] !== 'e' || raw === undefined) continue;
      try {
        const parsed = WireEventSchema.safeParse(JSON.parse(raw));
        if (parsed.success) events.push(parsed.data);
      } catch {}
    }
    const at = events.findIndex((e) => e.id === afterId);
    if (at === -1) return { complete: false, events: [] };
    return { complete: true, events: events.slice(at + 1) };
  }
}
