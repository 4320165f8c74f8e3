import type { RedisClient } from '@ovation/shared/redis';
import { RedisDutyElection } from './redis/duties.js';
import { RedisLatencyStats } from './redis/latency.js';
import { RedisNodeRegistry } from './redis/nodes.js';
import { RedisRegionCounts } from './redis/region-counts.js';
import type { FreshDuty, NodeInfo, SubscriptionRegistry } from './registry.js';

/**
 * The registry on Redis — one server or Redis Cluster, the same keys (each concern's layout is at
 * the top of its driver in ./redis/): nodes and their topics, duty election, other regions' counts,
 * client latency. The topic log (../topic-log/redis-topic-log.ts) shares the store and the prefix.
 */
export class RedisRegistry implements SubscriptionRegistry {
  readonly nodes: RedisNodeRegistry;
  private readonly duties: RedisDutyElection;
  private readonly regions: RedisRegionCounts;
  private readonly latency: RedisLatencyStats;

  constructor(
    private readonly redis: RedisClient,
    prefix: string,
    now: () => number = Date.now,
  ) {
    this.nodes = new RedisNodeRegistry(redis, prefix, now);
    this.duties = new RedisDutyElection(redis, prefix);
    this.regions = new RedisRegionCounts(redis, prefix);
    this.latency = new RedisLatencyStats(redis, prefix);
  }

  heartbeat(node: NodeInfo, counts: Readonly<Record<string, number>>, ttlMs: number, topics: number) {
    return this.nodes.heartbeat(node, counts, ttlMs, topics);
  }
  syncTopics(node: NodeInfo, syncId: string, counts: Readonly<Record<string, number>>, last: boolean, ttlMs: number) {
    return this.nodes.syncTopics(node, syncId, counts, last, ttlMs);
  }
  syncedNodes(nodeIds: readonly string[]) {
    return this.nodes.syncedNodes(nodeIds);
  }
  nodeAlive(nodeId: string) {
    return this.nodes.nodeAlive(nodeId);
  }
  addTopics(node: NodeInfo, topics: readonly string[], ttlMs: number) {
    return this.nodes.addTopics(node, topics, ttlMs);
  }
  removeTopics(nodeId: string, topics: readonly string[]) {
    return this.nodes.removeTopics(nodeId, topics);
  }
  nodesFor(topics: readonly string[]) {
    return this.nodes.nodesFor(topics);
  }
  resolveNodes(memberLists: readonly (readonly string[])[]) {
    return this.nodes.resolveNodes(memberLists);
  }
  knownLiveNodeIds() {
    return this.nodes.knownLiveNodeIds();
  }
  viewerCounts() {
    return this.nodes.viewerCounts();
  }
  topicViewers(topics: readonly string[]) {
    return this.nodes.topicViewers(topics);
  }
  sweepExpired() {
    return this.nodes.sweepExpired();
  }
  claimDuty(name: string, holder: string, ttlMs: number, fresh?: FreshDuty) {
    return this.duties.claimDuty(name, holder, ttlMs, fresh);
  }
  releaseDuty(name: string, holder: string) {
    return this.duties.releaseDuty(name, holder);
  }
  recordLatency(counts: Readonly<Record<string, readonly number[]>>, now: number) {
    return this.latency.recordLatency(counts, now);
  }
  latencyBuckets(topic: string, now: number) {
    return this.latency.latencyBuckets(topic, now);
  }
  setRegionCounts(region: string, counts: Readonly<Record<string, number>>, ttlMs: number) {
    return this.regions.setRegionCounts(region, counts, ttlMs);
  }
  regionCounts() {
    return this.regions.regionCounts();
  }
  regionCountsFor(topic: string) {
    return this.regions.regionCountsFor(topic);
  }

  async ping(): Promise<void> {
    await this.redis.ping();
  }

  async close(): Promise<void> {
    // The connection belongs to whoever created it (the app's Redis plugin closes it).
  }
}
