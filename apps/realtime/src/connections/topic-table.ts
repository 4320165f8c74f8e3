import type { Connection } from './connection.js';

/** The node's in-memory table: topic → local connections subscribed to it. */
export class TopicTable {
  private readonly topics = new Map<string, Set<Connection>>();
  /** Observer connections per topic: subscribed, but not viewers (not in `counts`). */
  private readonly observers = new Map<string, number>();
  private subscriptions = 0;

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

  get topicCount(): number {
    return this.topics.size;
  }

  get subscriptionCount(): number {
    return this.subscriptions;
  }
}
