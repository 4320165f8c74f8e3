/**
 * The subscription registry: which frontend nodes have viewers for which topic, and how many.
 *
 * Two drivers implement it (memory: one dispatcher; Redis: any number of dispatchers sharing one
 * store) and both pass test/registry-contract.test.ts.
 *
 * A node is alive until `expiresAt`; every heartbeat pushes that forward. Look-ups never return an
 * expired node, so a node that died stops receiving within its TTL even before a sweep removes it.
 */
export interface NodeInfo {
  nodeId: string;
  url: string;
}

export interface SubscriptionRegistry {
  /** Authoritative state of a node: alive for `ttlMs` more, holding exactly the topics of `counts`. */
  heartbeat(node: NodeInfo, counts: Readonly<Record<string, number>>, ttlMs: number): Promise<void>;
  /** The node got its first local viewer of each topic (also refreshes its liveness). */
  addTopics(node: NodeInfo, topics: readonly string[], ttlMs: number): Promise<void>;
  /** The node's last local viewer of each topic left. */
  removeTopics(nodeId: string, topics: readonly string[]): Promise<void>;
  /** Live nodes subscribed to each of `topics` (topics without a node are absent from the map). */
  nodesFor(topics: readonly string[]): Promise<Map<string, NodeInfo[]>>;
  /** Viewers of every topic that has any, summed over live nodes. */
  viewerCounts(): Promise<Map<string, number>>;
  /** Viewers of one topic, summed over live nodes. */
  topicViewers(topic: string): Promise<number>;
  /** Removes nodes whose liveness expired, with their topics; returns their ids. */
  sweepExpired(): Promise<string[]>;
  /**
   * Elects one dispatcher for a periodic duty (viewer counts): true when `holder` holds the duty
   * named `name` for the next `ttlMs`.
   */
  claimDuty(name: string, holder: string, ttlMs: number): Promise<boolean>;
  /** Throws when the store cannot be reached. */
  ping(): Promise<void>;
  close(): Promise<void>;
}
