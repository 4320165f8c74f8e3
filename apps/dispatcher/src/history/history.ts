import type { TWireEvent } from '@ovation/shared';

/**
 * Recent events per topic, for resume: a connection that comes back with the id of the last event
 * it saw gets what it missed. Two drivers — a bounded ring in memory, Redis Streams with a bounded
 * length — pass test/history-contract.test.ts.
 *
 * Likes and viewer counts are not kept one by one: their current totals are the state that matters.
 */
export interface HistoryStore {
  /**
   * Appends in the given order (the order every reader will see). `encoded[i]`, when given, is
   * `events[i]` as JSON already (the publisher encodes each event once for every use).
   */
  append(events: readonly TWireEvent[], encoded?: readonly string[]): Promise<void>;
  /**
   * Events of `topic` after the one with id `afterId`, oldest first. `complete` is false when that
   * id is not in the history (too old, or never seen): the caller must resync instead of resuming.
   */
  since(topic: string, afterId: string): Promise<{ complete: boolean; events: TWireEvent[] }>;
}

export interface HistoryLimits {
  maxEvents: number;
  maxAgeMs: number;
}

export const DEFAULT_HISTORY_LIMITS: HistoryLimits = { maxEvents: 1000, maxAgeMs: 10 * 60_000 };

/** Whether an event type is kept in history. */
export function isHistoryEvent(event: Pick<TWireEvent, 'type'>): boolean {
  return event.type !== 'like' && event.type !== 'viewers';
}
