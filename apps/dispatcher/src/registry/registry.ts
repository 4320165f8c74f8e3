/**
 * The subscription registry: which frontend nodes have viewers for which topic, and how many —
 * and, beside it, what the dispatchers of a region share: duty election, other regions' viewer
 * counts, client latency. Four concerns, four interfaces (NodeRegistry, DutyElection, RegionCounts,
 * LatencyStats), each with its own contract suite (test/registry-*.test.ts) that the memory driver
 * (one dispatcher), the Redis driver on one server and on Redis Cluster all pass.
 *
 * A node is alive until `expiresAt`; every heartbeat pushes that forward. Look-ups never return an
 * expired node, so a node that died stops receiving within its TTL even before a sweep removes it.
 */
export interface NodeInfo {
  nodeId: string;
  url: string;
}

/** See SubscriptionRegistry.claimDuty. */
export interface FreshDuty {
  waitMs: number;
  priority: boolean;
}

/** Which frontend nodes are alive and which topics they have viewers of. */
export interface NodeRegistry {
  /**
   * The node is alive for `ttlMs` more; `counts` are viewer counts that changed (their topics are
   * held by the node). `resync` when the registry lacks the node's full state — the node was not
   * known (new, expired and swept, a store that lost its data), no full sync of it reached this
   * store yet (a topic change can make a node known again after a loss), or it holds another
   * number of topics than the node's own `topics` — and the node should send it (`syncTopics`).
   */
  heartbeat(
    node: NodeInfo,
    counts: Readonly<Record<string, number>>,
    ttlMs: number,
    topics: number,
  ): Promise<{ resync: boolean }>;
  /**
   * One part of a node's full state (topic → viewers). Parts add; the `last` part of a sync also
   * removes the node's topics that no part of sync `syncId` named, and marks the node synced.
   * So the registry never holds less than the node during a sync, and exactly it after.
   */
  syncTopics(
    node: NodeInfo,
    syncId: string,
    counts: Readonly<Record<string, number>>,
    last: boolean,
    ttlMs: number,
  ): Promise<void>;
  /** Those of `nodeIds` whose full sync reached the store since it last lost its data. */
  syncedNodes(nodeIds: readonly string[]): Promise<Set<string>>;
  /**
   * Whether the node is alive as far as this dispatcher knows: its last known liveness has not
   * expired. A store that lost its data does not make a node dead before that.
   */
  nodeAlive(nodeId: string): Promise<boolean>;
  /** The node got its first local viewer of each topic (also refreshes its liveness). */
  addTopics(node: NodeInfo, topics: readonly string[], ttlMs: number): Promise<void>;
  /** The node's last local viewer of each topic left. */
  removeTopics(nodeId: string, topics: readonly string[]): Promise<void>;
  /** Live nodes subscribed to each of `topics` (topics without a node are absent from the map). */
  nodesFor(topics: readonly string[]): Promise<Map<string, NodeInfo[]>>;
  /** Viewers of every topic a live node holds (0 when it has only observers), summed over nodes. */
  viewerCounts(): Promise<Map<string, number>>;
  /** Viewers of each topic, summed over live nodes (one look-up for them all). */
  topicViewers(topics: readonly string[]): Promise<number[]>;
  /** Removes nodes whose liveness expired, with their topics; returns their ids (and keeps the node table fresh). */
  sweepExpired(): Promise<string[]>;
}

/** One dispatcher of a region at a time for a periodic duty (viewer counts, relay). */
export interface DutyElection {
  /**
   * Elects one dispatcher for a periodic duty (viewer counts, relay): true when `holder` holds the
   * duty named `name` for the next `ttlMs`. With `fresh`, a duty no one ever held in this store (a
   * first start, or a store that lost its data) goes at once only to a claim with `priority` (the
   * holder from before the loss); others get it `fresh.waitMs` after the first of them asked.
   */
  claimDuty(name: string, holder: string, ttlMs: number, fresh?: FreshDuty): Promise<boolean>;
  /** Gives a duty up (when `holder` holds it), so another dispatcher can take it at once. */
  releaseDuty(name: string, holder: string): Promise<void>;
}

/** Client-reported delivery latency per topic, over a sliding window. */
export interface LatencyStats {
  /**
   * Adds client-reported latency bucket counts per topic (see @ovation/shared latency.ts) to the
   * time slot of `now`; slots older than LATENCY_WINDOW_MS are forgotten.
   */
  recordLatency(counts: Readonly<Record<string, readonly number[]>>, now: number): Promise<void>;
  /** A topic's latency bucket counts summed over the last LATENCY_WINDOW_MS. */
  latencyBuckets(topic: string, now: number): Promise<number[]>;
}

/** Other regions' viewer counts, as their reports last said. */
export interface RegionCounts {
  /** Another region's viewers per topic (replacing its previous report), valid for `ttlMs`. */
  setRegionCounts(region: string, counts: Readonly<Record<string, number>>, ttlMs: number): Promise<void>;
  /** Every other region's current report: region → topic → viewers. */
  regionCounts(): Promise<Map<string, Map<string, number>>>;
  /** One topic's viewers in each other region that has a current report (0 when it has none there). */
  regionCountsFor(topic: string): Promise<Map<string, number>>;
}

/** All four, on one store. */
export interface SubscriptionRegistry extends NodeRegistry, DutyElection, LatencyStats, RegionCounts {
  /** Throws when the store cannot be reached. */
  ping(): Promise<void>;
  close(): Promise<void>;
}

/** Client latency is summarised over this window, in slots of LATENCY_SLOT_MS. */
export const LATENCY_WINDOW_MS = 60_000;
export const LATENCY_SLOT_MS = 5_000;

export function latencySlot(now: number): number {
  return Math.floor(now / LATENCY_SLOT_MS);
}

/** Slots that make up the window ending at `now` (the current, partial one included). */
export function latencyWindowSlots(now: number): number[] {
  const last = latencySlot(now);
  const count = LATENCY_WINDOW_MS / LATENCY_SLOT_MS;
  return Array.from({ length: count }, (_, i) => last - i);
}
