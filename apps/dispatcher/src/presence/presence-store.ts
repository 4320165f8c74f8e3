import type { TNodeTopicPresence, TPresenceList, TPresenceMember } from '@ovation/shared';

/*
 * Presence's shared state (see packages/shared/src/presence.ts for the whole flow): per topic,
 * each member's heartbeat expiry, the accounts' names and since when they are here, the joins not
 * yet published. Any dispatcher writes any node's heartbeats, and whichever holds the `presence`
 * duty settles the topics that are due — so no state lives in one process.
 *
 *   report   a node's heartbeats: `present` members expire at now + TTL (a new one is a join);
 *            `gone` ones at now (their last connection on that node closed)
 *   settle   the delayed check: members expired for longer than the grace leave; the joins and
 *            leaves since the last settle become one change, kept in the store until `published`
 *            (a holder that dies before publishing leaves it to the next, who publishes it under
 *            the same key: the topic log takes it once)
 *
 * Memory (one dispatcher), Redis and Redis Cluster (every key of a topic under one hash tag) keep
 * the same contract, which presence-store.contract.ts checks on all three.
 */

/** A settled change of one topic: what its `presence` event says, and the key it is published under. */
export interface PresenceChange {
  /** Unique per change: the event's idempotency key is `presence:<seq>`. */
  seq: string;
  joined: TPresenceMember[];
  left: TPresenceMember[];
  /** Joins and leaves beyond the names listed. */
  more: { joined: number; left: number };
  /** Accounts present (the list's length) and guests present, after the change. */
  count: number;
  guests: number;
}

export interface PresenceSettings {
  /** A heartbeat's validity. */
  ttlMs: number;
  /** How long after its heartbeat expired a member leaves. */
  graceMs: number;
  /** Names per list in one change. */
  maxNames: number;
  /** Members that leave in one settle (a crashed node's 100,000 leave over several). */
  maxLeavePerSettle: number;
}

export interface PresenceStore {
  /** One node's heartbeats and departures, per topic. */
  report(topics: Readonly<Record<string, TNodeTopicPresence>>): Promise<void>;
  /** Up to `max` topics whose presence may have changed by now (a join, or an expiry past the grace). */
  dueTopics(max: number): Promise<string[]>;
  /**
   * The delayed check of one topic: its change since the last one published (a change not yet
   * published is handed out again, as it was), or undefined when nothing changed.
   */
  settle(topic: string, seq: string): Promise<PresenceChange | undefined>;
  /** The change `seq` of the topic is in its log: forgotten. */
  published(topic: string, seq: string): Promise<void>;
  /** One page of the accounts present, in id order after `cursor`, and the counts. */
  list(topic: string, cursor: string | undefined, limit: number): Promise<TPresenceList>;
  /**
   * Whether each account is present: on `topic` when given (not yet left it), otherwise on some
   * topic (its latest heartbeat, plus the grace).
   */
  online(ids: readonly string[], topic?: string): Promise<Record<string, boolean>>;
}
