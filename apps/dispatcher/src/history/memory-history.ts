import type { TWireEvent } from '@ovation/shared';
import { DEFAULT_HISTORY_LIMITS, type HistoryLimits, type HistoryStore, isHistoryEvent } from './history.js';

/** A bounded ring per topic (REDIS_URL unset: one dispatcher). */
export class MemoryHistory implements HistoryStore {
  private readonly topics = new Map<string, TWireEvent[]>();

  constructor(
    private readonly limits: HistoryLimits = DEFAULT_HISTORY_LIMITS,
    private readonly now: () => number = Date.now,
  ) {}

  async append(events: readonly TWireEvent[]): Promise<void> {
    for (const event of events) {
      if (!isHistoryEvent(event)) continue;
      let list = this.topics.get(event.topic);
      if (!list) {
        list = [];
        this.topics.set(event.topic, list);
      }
      list.push(event);
      if (list.length > this.limits.maxEvents) list.splice(0, list.length - this.limits.maxEvents);
    }
  }

  async since(topic: string, afterId: string): Promise<{ complete: boolean; events: TWireEvent[] }> {
    const oldest = this.now() - this.limits.maxAgeMs;
    const list = (this.topics.get(topic) ?? []).filter((e) => e.ts >= oldest);
    const at = list.findIndex((e) => e.id === afterId);
    if (at === -1) return { complete: false, events: [] };
    return { complete: true, events: list.slice(at + 1) };
  }
}
