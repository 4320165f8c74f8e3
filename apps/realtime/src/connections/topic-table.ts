import type { Connection } from './connection.js';

/** The node's in-memory table: topic → local connections subscribed to it. */
export class TopicTable {
  private readonly topics = new Map<string, Set<Connection>>();
  /** Observer connections per topic: subscribed, but not viewers (not in `counts`). */
  private readonly observers = new Map<string, number>();
  private subscriptions = 0;
  /** Topics whose viewer count changed since the dispatcher link last took them. */
  private changed = new Set<string>();

  /** Subscribes; returns the topics that had no local viewer before (to register upstream). */
  subscribe(connection: Connection, topics: Iterable<string>): string[] {
    const firsts: string[] = [];
    for (const topic of topics) {
      if (!connection.addTopic(topic)) continue;
      let set = this.topics.get(topic);
      if (!set) {
        set = new Set();
        this.topics.set(topic, set);
        firsts.push(topic);
      }
      set.add(connection);
      this.subscriptions++;
      this.changed.add(topic);
      if (connection.observer) this.observers.set(topic, (this.observers.get(topic) ?? 0) + 1);
    }
    return firsts;
  }

  /** Unsubscribes; returns the topics left without a local viewer (to unregister upstream). */
  unsubscribe(connection: Connection, topics: Iterable<string>): string[] {
    const emptied: string[] = [];
    for (const topic of [...topics]) {
      if (!connection.removeTopic(topic)) continue;
      const set = this.topics.get(topic);
      if (!set) continue;
      set.delete(connection);
      this.subscriptions--;
      this.changed.add(topic);
      if (connection.observer) {
        const left = (this.observers.get(topic) ?? 1) - 1;
        if (left > 0) this.observers.set(topic, left);
        else this.observers.delete(topic);
      }
      if (set.size === 0) {
        this.topics.delete(topic);
        emptied.push(topic);
      }
    }
    return emptied;
  }

  subscribers(topic: string): ReadonlySet<Connection> | undefined {
    return this.topics.get(topic);
  }

  has(topic: string): boolean {
    return this.topics.has(topic);
  }

  /** Local viewers per topic (what the node reports in its heartbeat). */
  counts(): Record<string, number> {
    const counts: Record<string, number> = {};
    for (const [topic, set] of this.topics) counts[topic] = set.size - (this.observers.get(topic) ?? 0);
    return counts;
  }

  /**
   * Viewer counts of up to `max` topics whose count changed since they were last taken (topics
   * that have no connection left are dropped: their removal is registered on its own).
   */
  takeChangedCounts(max: number): Record<string, number> {
    const counts: Record<string, number> = {};
    let taken = 0;
    for (const topic of this.changed) {
      if (taken >= max) break;
      this.changed.delete(topic);
      const set = this.topics.get(topic);
      if (!set) continue;
      counts[topic] = set.size - (this.observers.get(topic) ?? 0);
      taken++;
    }
    return counts;
  }

  /** Counts taken that could not be sent: taken again next time. */
  markChanged(topics: Iterable<string>): void {
    for (const topic of topics) this.changed.add(topic);
  }

  /** Whether some topic's count changed since it was last taken. */
  get hasChangedCounts(): boolean {
    return this.changed.size > 0;
  }

  /** Every topic with local connections, as a list (a snapshot). */
  topicList(): string[] {
    return [...this.topics.keys()];
  }

  /** One topic's local viewers (observers not counted); undefined when it has no connection. */
  countOf(topic: string): number | undefined {
    const set = this.topics.get(topic);
    return set ? set.size - (this.observers.get(topic) ?? 0) : undefined;
  }

  get topicCount(): number {
    return this.topics.size;
  }

  get subscriptionCount(): number {
    return this.subscriptions;
  }
}
