import type { Connection } from './connection.js';

/** Told when a named viewer's first connection on a topic opens here, and when their last closes. */
export interface MemberListener {
  joined(topic: string, viewerId: string, name: string | undefined): void;
  left(topic: string, viewerId: string): void;
}

/** The node's in-memory table: topic → local connections subscribed to it. */
export class TopicTable {
  /** Presence (presence-reporter.ts); none in tests that do not need it. */
  members: MemberListener | undefined;
  private readonly topics = new Map<string, Set<Connection>>();
  /**
   * Connections per topic that are not counted as viewers: observers (the studio), and every
   * connection of a named viewer (a token's `sub`) past its first on the topic — a viewer with
   * three tabs counts once.
   */
  private readonly uncounted = new Map<string, number>();
  /** Per topic, connections of each named viewer (only topics some named viewer joined). */
  private readonly named = new Map<string, Map<string, number>>();
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
      if (this.joinsUncounted(connection, topic)) this.uncounted.set(topic, (this.uncounted.get(topic) ?? 0) + 1);
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
      if (this.leavesUncounted(connection, topic)) {
        const left = (this.uncounted.get(topic) ?? 1) - 1;
        if (left > 0) this.uncounted.set(topic, left);
        else this.uncounted.delete(topic);
      }
      if (set.size === 0) {
        this.topics.delete(topic);
        emptied.push(topic);
      }
    }
    return emptied;
  }

  /** Records the join; true when the connection does not add a viewer (an observer, or a viewer's second tab). */
  private joinsUncounted(connection: Connection, topic: string): boolean {
    if (connection.observer) return true;
    const viewer = connection.viewerId;
    if (viewer === undefined) return false;
    let viewers = this.named.get(topic);
    if (!viewers) {
      viewers = new Map();
      this.named.set(topic, viewers);
    }
    const tabs = (viewers.get(viewer) ?? 0) + 1;
    viewers.set(viewer, tabs);
    if (tabs === 1) this.members?.joined(topic, viewer, connection.viewerName);
    return tabs > 1;
  }

  /** Records the leave; true when the connection was not counted as a viewer (see joinsUncounted). */
  private leavesUncounted(connection: Connection, topic: string): boolean {
    if (connection.observer) return true;
    const viewer = connection.viewerId;
    const viewers = viewer === undefined ? undefined : this.named.get(topic);
    if (viewer === undefined || !viewers) return false;
    const tabs = (viewers.get(viewer) ?? 1) - 1;
    if (tabs > 0) viewers.set(viewer, tabs);
    else {
      viewers.delete(viewer);
      if (viewers.size === 0) this.named.delete(topic);
      this.members?.left(topic, viewer);
    }
    return tabs > 0;
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
    for (const [topic, set] of this.topics) counts[topic] = set.size - (this.uncounted.get(topic) ?? 0);
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
      counts[topic] = set.size - (this.uncounted.get(topic) ?? 0);
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
    return set ? set.size - (this.uncounted.get(topic) ?? 0) : undefined;
  }

  get topicCount(): number {
    return this.topics.size;
  }

  get subscriptionCount(): number {
    return this.subscriptions;
  }
}
