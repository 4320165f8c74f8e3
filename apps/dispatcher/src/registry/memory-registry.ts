import { addLatencyBuckets, emptyLatencyBuckets } from '@ovation/shared';
import {
  type FreshDuty,
  latencySlot,
  latencyWindowSlots,
  type NodeInfo,
  type SubscriptionRegistry,
} from './registry.js';

interface NodeState {
  url: string;
  expiresAt: number;
  /** topic -> local viewer count (0 while registered by addTopics and not yet heartbeated). */
  counts: Map<string, number>;
}

/** In-process registry for a single dispatcher (REDIS_URL unset). */
export class MemoryRegistry implements SubscriptionRegistry {
  private readonly nodes = new Map<string, NodeState>();
  private readonly topicNodes = new Map<string, Set<string>>();
  private readonly duties = new Map<string, { holder: string; until: number }>();
  /** Duties someone held (see claimDuty's `fresh`), and when a claim first found one never held. */
  private readonly everHeld = new Set<string>();
  private readonly vacantSince = new Map<string, number>();
  private readonly regions = new Map<string, { counts: Map<string, number>; until: number }>();
  /** topic → slot → bucket counts */
  private readonly latency = new Map<string, Map<number, number[]>>();
  /** A node's sync in progress: its id and the topics its parts named so far. */
  private readonly syncs = new Map<string, { syncId: string; named: Set<string> }>();
  private readonly synced = new Set<string>();

  constructor(private readonly now: () => number = Date.now) {}

  async heartbeat(
    node: NodeInfo,
    counts: Readonly<Record<string, number>>,
    ttlMs: number,
    topics: number,
  ): Promise<{ resync: boolean }> {
    const known = this.nodes.has(node.nodeId);
    const state = this.touch(node, ttlMs);
    for (const [topic, count] of Object.entries(counts)) {
      state.counts.set(topic, count);
      this.link(node.nodeId, topic);
    }
    return { resync: !known || !this.synced.has(node.nodeId) || state.counts.size !== topics };
  }

  async syncTopics(
    node: NodeInfo,
    syncId: string,
    counts: Readonly<Record<string, number>>,
    last: boolean,
    ttlMs: number,
  ): Promise<void> {
    const state = this.touch(node, ttlMs);
    let sync = this.syncs.get(node.nodeId);
    if (sync?.syncId !== syncId) {
      sync = { syncId, named: new Set() };
      this.syncs.set(node.nodeId, sync);
    }
    for (const [topic, count] of Object.entries(counts)) {
      state.counts.set(topic, count);
      this.link(node.nodeId, topic);
      sync.named.add(topic);
    }
    if (!last) return;
    for (const topic of [...state.counts.keys()]) {
      if (sync.named.has(topic)) continue;
      state.counts.delete(topic);
      this.unlink(node.nodeId, topic);
    }
    this.syncs.delete(node.nodeId);
    this.synced.add(node.nodeId);
  }

  async syncedNodes(nodeIds: readonly string[]): Promise<Set<string>> {
    return new Set(nodeIds.filter((id) => this.synced.has(id)));
  }

  async nodeAlive(nodeId: string): Promise<boolean> {
    return (this.nodes.get(nodeId)?.expiresAt ?? 0) > this.now();
  }

  async addTopics(node: NodeInfo, topics: readonly string[], ttlMs: number): Promise<void> {
    const state = this.touch(node, ttlMs);
    for (const topic of topics) {
      if (!state.counts.has(topic)) state.counts.set(topic, 0);
      this.link(node.nodeId, topic);
    }
  }

  async removeTopics(nodeId: string, topics: readonly string[]): Promise<void> {
    const state = this.nodes.get(nodeId);
    for (const topic of topics) {
      state?.counts.delete(topic);
      this.unlink(nodeId, topic);
    }
  }

  async nodesFor(topics: readonly string[]): Promise<Map<string, NodeInfo[]>> {
    const now = this.now();
    const result = new Map<string, NodeInfo[]>();
    for (const topic of topics) {
      const ids = this.topicNodes.get(topic);
      if (!ids) continue;
      const live: NodeInfo[] = [];
      for (const nodeId of ids) {
        const state = this.nodes.get(nodeId);
        if (state && state.expiresAt > now) live.push({ nodeId, url: state.url });
      }
      if (live.length > 0) result.set(topic, live);
    }
    return result;
  }

  async viewerCounts(): Promise<Map<string, number>> {
    const now = this.now();
    const totals = new Map<string, number>();
    for (const state of this.nodes.values()) {
      if (state.expiresAt <= now) continue;
      for (const [topic, count] of state.counts) {
        totals.set(topic, (totals.get(topic) ?? 0) + count);
      }
    }
    return totals;
  }

  async topicViewers(topics: readonly string[]): Promise<number[]> {
    const now = this.now();
    const live = [...this.nodes.values()].filter((state) => state.expiresAt > now);
    return topics.map((topic) => live.reduce((total, state) => total + (state.counts.get(topic) ?? 0), 0));
  }

  async sweepExpired(): Promise<string[]> {
    const now = this.now();
    const expired: string[] = [];
    for (const [nodeId, state] of this.nodes) {
      if (state.expiresAt > now) continue;
      for (const topic of state.counts.keys()) this.unlink(nodeId, topic);
      this.nodes.delete(nodeId);
      this.syncs.delete(nodeId);
      this.synced.delete(nodeId);
      expired.push(nodeId);
    }
    return expired;
  }

  async claimDuty(name: string, holder: string, ttlMs: number, fresh?: FreshDuty): Promise<boolean> {
    const now = this.now();
    const current = this.duties.get(name);
    if (current && current.holder !== holder && current.until > now) return false;
    if (!this.everHeld.has(name) && fresh && !fresh.priority && fresh.waitMs > 0) {
      const since = this.vacantSince.get(name) ?? now;
      this.vacantSince.set(name, since);
      if (now - since < fresh.waitMs) return false;
    }
    this.everHeld.add(name);
    this.duties.set(name, { holder, until: now + ttlMs });
    return true;
  }

  async releaseDuty(name: string, holder: string): Promise<void> {
    if (this.duties.get(name)?.holder === holder) this.duties.delete(name);
  }

  async recordLatency(counts: Readonly<Record<string, readonly number[]>>, now: number): Promise<void> {
    const slot = latencySlot(now);
    const keep = new Set(latencyWindowSlots(now));
    for (const [topic, buckets] of Object.entries(counts)) {
      let slots = this.latency.get(topic);
      if (!slots) {
        slots = new Map();
        this.latency.set(topic, slots);
      }
      for (const old of slots.keys()) if (!keep.has(old)) slots.delete(old);
      const current = slots.get(slot) ?? emptyLatencyBuckets();
      addLatencyBuckets(current, buckets);
      slots.set(slot, current);
    }
  }

  async latencyBuckets(topic: string, now: number): Promise<number[]> {
    const total = emptyLatencyBuckets();
    const slots = this.latency.get(topic);
    if (!slots) return total;
    for (const slot of latencyWindowSlots(now)) {
      const buckets = slots.get(slot);
      if (buckets) addLatencyBuckets(total, buckets);
    }
    return total;
  }

  async setRegionCounts(region: string, counts: Readonly<Record<string, number>>, ttlMs: number): Promise<void> {
    this.regions.set(region, { counts: new Map(Object.entries(counts)), until: this.now() + ttlMs });
  }

  async regionCounts(): Promise<Map<string, Map<string, number>>> {
    const now = this.now();
    const out = new Map<string, Map<string, number>>();
    for (const [region, report] of this.regions) {
      if (report.until > now) out.set(region, report.counts);
      else this.regions.delete(region);
    }
    return out;
  }

  async regionCountsFor(topic: string): Promise<Map<string, number>> {
    const out = new Map<string, number>();
    for (const [region, counts] of await this.regionCounts()) out.set(region, counts.get(topic) ?? 0);
    return out;
  }

  async ping(): Promise<void> {}

  async close(): Promise<void> {}

  private touch(node: NodeInfo, ttlMs: number): NodeState {
    let state = this.nodes.get(node.nodeId);
    if (!state) {
      state = { url: node.url, expiresAt: 0, counts: new Map() };
      this.nodes.set(node.nodeId, state);
    }
    state.url = node.url;
    state.expiresAt = this.now() + ttlMs;
    return state;
  }

  private link(nodeId: string, topic: string): void {
    let ids = this.topicNodes.get(topic);
    if (!ids) {
      ids = new Set();
      this.topicNodes.set(topic, ids);
    }
    ids.add(nodeId);
  }

  private unlink(nodeId: string, topic: string): void {
    const ids = this.topicNodes.get(topic);
    if (!ids) return;
    ids.delete(nodeId);
    if (ids.size === 0) this.topicNodes.delete(topic);
  }
}
