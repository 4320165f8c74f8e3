import { emptyLatencyBuckets, LATENCY_BUCKET_COUNT } from '@ovation/shared';
import type { Redis } from 'ioredis';
import {
  type FreshDuty,
  LATENCY_WINDOW_MS,
  latencySlot,
  latencyWindowSlots,
  type NodeInfo,
  type SubscriptionRegistry,
} from './registry.js';

/*
 * Redis layout (every key under `prefix`):
 *   <p>:nodes               ZSET  nodeId -> liveness expiry (ms since epoch)
 *   <p>:urls                HASH  nodeId -> base URL the dispatchers POST to
 *   <p>:node:<id>:counts    HASH  topic -> local viewers on that node; its fields are the node's topics
 *   <p>:node:<id>:sync:<s> HASH  topics named so far by the node's full sync <s> (expires)
 *   <p>:synced              HASH  nodeId -> 1 once the node's full sync completed (gone with a lost store)
 *   <p>:topic:<t>:nodes     SET   nodeIds with viewers of topic t
 *   <p>:duty:<name>         STRING holder of a periodic duty, with a TTL
 *   <p>:duty:<name>:held    STRING 'held' once someone held it in this store (claimDuty's `fresh`)
 *   <p>:latency:<t>:<slot>  HASH  bucket index -> client latency samples (expires after 2 windows)
 *   <p>:topic:<t>:log, <p>:topic:<t>:history   the topic log (../topic-log/redis-topic-log.ts)
 *   <p>:regions             SET   other regions that reported viewer counts
 *   <p>:region:<r>:counts   HASH  topic -> viewers in region r (its last report; expires)
 *
 * Publishing reads the topic sets (in the topic log's accept script, one call per batch);
 * node URLs and liveness come from a small in-memory table refreshed at most every
 * NODE_CACHE_MS, so a publish costs one round trip to Redis.
 */

const NODE_CACHE_MS = 250;
/** Field that marks a region's count report as present (not a valid topic name). */
const REPORTED = '.reported';
/** Refresh at once for an id the table does not know, but not more often than this. */
const NODE_CACHE_MISS_MS = 25;

// Removes one node and its topics only if its liveness is still expired (a heartbeat may have
// arrived since the sweep listed it), atomically.
// KEYS: nodes zset, urls hash, the node's counts hash, synced hash. ARGV: nodeId, now, topic prefix.
const SWEEP_NODE = `
local score = redis.call('ZSCORE', KEYS[1], ARGV[1])
if score and tonumber(score) > tonumber(ARGV[2]) then return 0 end
local topics = redis.call('HKEYS', KEYS[3])
for _, t in ipairs(topics) do redis.call('SREM', ARGV[3] .. t .. ':nodes', ARGV[1]) end
redis.call('DEL', KEYS[3])
redis.call('HDEL', KEYS[2], ARGV[1])
redis.call('HDEL', KEYS[4], ARGV[1])
redis.call('ZREM', KEYS[1], ARGV[1])
return 1`;

// Liveness plus changed counts, and whether the registry holds the node's full state (known, a
// full sync of it since the store last lost its data, as many topics as the node says).
// KEYS: nodes zset, urls hash, the node's counts hash, synced hash. ARGV: nodeId, url, expiresAt,
// topics the node holds, topic prefix, then topic, count pairs. Returns 1 when the node should resync.
const HEARTBEAT = `
local known = redis.call('ZSCORE', KEYS[1], ARGV[1])
redis.call('ZADD', KEYS[1], ARGV[3], ARGV[1])
redis.call('HSET', KEYS[2], ARGV[1], ARGV[2])
for i = 6, #ARGV, 2 do
  redis.call('HSET', KEYS[3], ARGV[i], ARGV[i + 1])
  redis.call('SADD', ARGV[5] .. ARGV[i] .. ':nodes', ARGV[1])
end
if not known or redis.call('HEXISTS', KEYS[4], ARGV[1]) == 0 then return 1 end
if redis.call('HLEN', KEYS[3]) ~= tonumber(ARGV[4]) then return 1 end
return 0`;

// The last part of a full sync: the node's topics that no part named are removed; the node is synced.
// KEYS: the node's counts hash, the sync's hash, synced hash. ARGV: nodeId, topic prefix.
const FINISH_SYNC = `
for _, t in ipairs(redis.call('HKEYS', KEYS[1])) do
  if redis.call('HEXISTS', KEYS[2], t) == 0 then
    redis.call('HDEL', KEYS[1], t)
    redis.call('SREM', ARGV[2] .. t .. ':nodes', ARGV[1])
  end
end
redis.call('DEL', KEYS[2])
redis.call('HSET', KEYS[3], ARGV[1], '1')
return 1`;

/** A sync's list of named topics outlives a stalled sync by this much, no more. */
const SYNC_TTL_MS = 120_000;

// Takes or extends a duty: 1 when ARGV[1] holds KEYS[1] for ARGV[2] ms from now. KEYS[2] says the
// duty was held in this store ('held'), or since when claims without priority (ARGV[4] ~= '1') found
// it never held: they wait ARGV[3] ms from then (SubscriptionRegistry.claimDuty's `fresh`).
const CLAIM_DUTY = `
local current = redis.call('GET', KEYS[1])
if current == ARGV[1] then redis.call('PEXPIRE', KEYS[1], ARGV[2]) return 1 end
if current then return 0 end
local seen = redis.call('GET', KEYS[2])
local wait = tonumber(ARGV[3])
if seen ~= 'held' and ARGV[4] ~= '1' and wait > 0 then
  local clock = redis.call('TIME')
  local now = tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000)
  if not seen then
    redis.call('SET', KEYS[2], now)
    return 0
  end
  if now - tonumber(seen) < wait then return 0 end
end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
if seen ~= 'held' then redis.call('SET', KEYS[2], 'held') end
return 1`;

// Gives up a duty only if ARGV[1] holds it.
const RELEASE_DUTY = `
if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('DEL', KEYS[1]) end
return 1`;

interface CachedNode {
  url: string;
  expiresAt: number;
}

export class RedisRegistry implements SubscriptionRegistry {
  private nodeCache = new Map<string, CachedNode>();
  private cacheAt = 0;
  private refreshing: Promise<void> | undefined;
  /**
   * The latest liveness expiry seen for each node (heartbeats here, table refreshes): a node stays
   * alive for deliveries until it passes, even when a store that lost its data no longer lists it.
   */
  private readonly knownExpiry = new Map<string, number>();

  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
    private readonly now: () => number = Date.now,
  ) {}

  private key = {
    nodes: () => `${this.prefix}:nodes`,
    urls: () => `${this.prefix}:urls`,
    counts: (nodeId: string) => `${this.prefix}:node:${nodeId}:counts`,
    sync: (nodeId: string, syncId: string) => `${this.prefix}:node:${nodeId}:sync:${syncId}`,
    synced: () => `${this.prefix}:synced`,
    topicPrefix: () => `${this.prefix}:topic:`,
    topic: (topic: string) => `${this.prefix}:topic:${topic}:nodes`,
    duty: (name: string) => `${this.prefix}:duty:${name}`,
    latency: (topic: string, slot: number) => `${this.prefix}:latency:${topic}:${slot}`,
    regions: () => `${this.prefix}:regions`,
    region: (region: string) => `${this.prefix}:region:${region}:counts`,
  };

  async heartbeat(
    node: NodeInfo,
    counts: Readonly<Record<string, number>>,
    ttlMs: number,
    topics: number,
  ): Promise<{ resync: boolean }> {
    const expiresAt = this.noteAlive(node, ttlMs);
    const args: string[] = [node.nodeId, node.url, String(expiresAt), String(topics), this.key.topicPrefix()];
    for (const [topic, count] of Object.entries(counts)) args.push(topic, String(count));
    const resync = await this.redis.eval(
      HEARTBEAT,
      4,
      this.key.nodes(),
      this.key.urls(),
      this.key.counts(node.nodeId),
      this.key.synced(),
      ...args,
    );
    return { resync: resync === 1 };
  }

  async syncTopics(
    node: NodeInfo,
    syncId: string,
    counts: Readonly<Record<string, number>>,
    last: boolean,
    ttlMs: number,
  ): Promise<void> {
    const countsKey = this.key.counts(node.nodeId);
    const syncKey = this.key.sync(node.nodeId, syncId);
    const entries = Object.entries(counts);
    const multi = this.redis.multi();
    this.markAlive(multi, node, ttlMs);
    if (entries.length > 0) {
      multi.hset(countsKey, Object.fromEntries(entries));
      multi.hset(syncKey, Object.fromEntries(entries.map(([topic]) => [topic, '1'])));
    }
    multi.pexpire(syncKey, SYNC_TTL_MS);
    for (const [topic] of entries) multi.sadd(this.key.topic(topic), node.nodeId);
    await execOrThrow(multi);
    if (last) {
      await this.redis.eval(FINISH_SYNC, 3, countsKey, syncKey, this.key.synced(), node.nodeId, this.key.topicPrefix());
    }
  }

  async syncedNodes(nodeIds: readonly string[]): Promise<Set<string>> {
    if (nodeIds.length === 0) return new Set();
    const flags = await this.redis.hmget(this.key.synced(), ...nodeIds);
    return new Set(nodeIds.filter((_, i) => flags[i] !== null));
  }

  async nodeAlive(nodeId: string): Promise<boolean> {
    if ((this.knownExpiry.get(nodeId) ?? 0) > this.now()) return true;
    await this.refreshNodes();
    return (this.knownExpiry.get(nodeId) ?? 0) > this.now();
  }

  async addTopics(node: NodeInfo, topics: readonly string[], ttlMs: number): Promise<void> {
    const multi = this.redis.multi();
    this.markAlive(multi, node, ttlMs);
    const countsKey = this.key.counts(node.nodeId);
    for (const topic of topics) {
      multi.hsetnx(countsKey, topic, '0');
      multi.sadd(this.key.topic(topic), node.nodeId);
    }
    await multi.exec();
  }

  async removeTopics(nodeId: string, topics: readonly string[]): Promise<void> {
    if (topics.length === 0) return;
    const multi = this.redis.multi();
    multi.hdel(this.key.counts(nodeId), ...topics);
    for (const topic of topics) multi.srem(this.key.topic(topic), nodeId);
    await multi.exec();
  }

  async nodesFor(topics: readonly string[]): Promise<Map<string, NodeInfo[]>> {
    const pipeline = this.redis.pipeline();
    for (const topic of topics) pipeline.smembers(this.key.topic(topic));
    const replies = await execOrThrow(pipeline);
    const nodes = await this.resolveNodes(replies.map((reply) => reply as string[]));
    const result = new Map<string, NodeInfo[]>();
    topics.forEach((topic, i) => {
      const live = nodes[i];
      if (live && live.length > 0) result.set(topic, live);
    });
    return result;
  }

  /**
   * The live nodes among each list of node ids (as read from topic sets), from the node table
   * cached here; refreshed when stale or when an id is not in it yet.
   */
  async resolveNodes(memberLists: readonly (readonly string[])[]): Promise<NodeInfo[][]> {
    const now = this.now();
    const stale = now - this.cacheAt > NODE_CACHE_MS;
    const unknown = memberLists.some((ids) => ids.some((id) => !this.nodeCache.has(id)));
    if (stale || (unknown && now - this.cacheAt > NODE_CACHE_MISS_MS)) await this.refreshNodes();
    return memberLists.map((ids) => {
      const live: NodeInfo[] = [];
      for (const nodeId of ids) {
        const cached = this.nodeCache.get(nodeId);
        if (cached && cached.expiresAt > now) live.push({ nodeId, url: cached.url });
      }
      return live;
    });
  }

  /**
   * Nodes alive as last seen here (heartbeats, table refreshes; no Redis call) — still listed when
   * the store no longer has them, which is what a dispatcher that found the store empty waits for.
   */
  knownLiveNodeIds(): string[] {
    const now = this.now();
    return [...this.knownExpiry].filter(([, expiresAt]) => expiresAt > now).map(([nodeId]) => nodeId);
  }

  async setRegionCounts(region: string, counts: Readonly<Record<string, number>>, ttlMs: number): Promise<void> {
    const key = this.key.region(region);
    // `.reported` (not a possible topic name) keeps a region with no viewers listed, at 0.
    const multi = this.redis
      .multi()
      .del(key)
      .hset(key, { ...counts, [REPORTED]: '1' });
    multi.pexpire(key, ttlMs).sadd(this.key.regions(), region);
    await execOrThrow(multi);
  }

  async regionCounts(): Promise<Map<string, Map<string, number>>> {
    const regions = await this.redis.smembers(this.key.regions());
    const out = new Map<string, Map<string, number>>();
    if (regions.length === 0) return out;
    const pipeline = this.redis.pipeline();
    for (const region of regions) pipeline.hgetall(this.key.region(region));
    const replies = await execOrThrow(pipeline);
    regions.forEach((region, i) => {
      const { [REPORTED]: reported, ...hash } = (replies[i] ?? {}) as Record<string, string>;
      if (reported !== undefined) out.set(region, new Map(Object.entries(hash).map(([t, n]) => [t, Number(n) || 0])));
    });
    return out;
  }

  async regionCountsFor(topic: string): Promise<Map<string, number>> {
    const regions = await this.redis.smembers(this.key.regions());
    const out = new Map<string, number>();
    if (regions.length === 0) return out;
    const pipeline = this.redis.pipeline();
    for (const region of regions) pipeline.hmget(this.key.region(region), REPORTED, topic);
    const replies = await execOrThrow(pipeline);
    regions.forEach((region, i) => {
      const [reported, count] = (replies[i] ?? []) as Array<string | null>;
      if (reported !== null && reported !== undefined) out.set(region, Number(count ?? 0) || 0);
    });
    return out;
  }

  async viewerCounts(): Promise<Map<string, number>> {
    const ids = await this.liveNodeIds();
    const pipeline = this.redis.pipeline();
    for (const id of ids) pipeline.hgetall(this.key.counts(id));
    const totals = new Map<string, number>();
    for (const reply of await execOrThrow(pipeline)) {
      for (const [topic, raw] of Object.entries(reply as Record<string, string>)) {
        totals.set(topic, (totals.get(topic) ?? 0) + (Number(raw) || 0));
      }
    }
    return totals;
  }

  async topicViewers(topics: readonly string[]): Promise<number[]> {
    const totals = topics.map(() => 0);
    const ids = await this.liveNodeIds();
    if (ids.length === 0 || topics.length === 0) return totals;
    const pipeline = this.redis.pipeline();
    for (const id of ids) pipeline.hmget(this.key.counts(id), ...topics);
    for (const reply of await execOrThrow(pipeline)) {
      (reply as Array<string | null>).forEach((count, i) => {
        totals[i] = (totals[i] ?? 0) + (Number(count ?? 0) || 0);
      });
    }
    return totals;
  }

  async sweepExpired(): Promise<string[]> {
    const now = this.now();
    const expired = await this.redis.zrangebyscore(this.key.nodes(), '-inf', now);
    const removed: string[] = [];
    for (const nodeId of expired) {
      const done = await this.redis.eval(
        SWEEP_NODE,
        4,
        this.key.nodes(),
        this.key.urls(),
        this.key.counts(nodeId),
        this.key.synced(),
        nodeId,
        String(now),
        this.key.topicPrefix(),
      );
      if (done === 1) {
        removed.push(nodeId);
        this.nodeCache.delete(nodeId);
      }
    }
    // Kept fresh here too: a dispatcher that routed nothing lately (all publishes went to another)
    // still knows which nodes were alive when the store loses its data (knownLiveNodeIds).
    await this.refreshNodes();
    return removed;
  }

  async claimDuty(name: string, holder: string, ttlMs: number, fresh?: FreshDuty): Promise<boolean> {
    const key = this.key.duty(name);
    const result = await this.redis.eval(
      CLAIM_DUTY,
      2,
      key,
      `${key}:held`,
      holder,
      String(ttlMs),
      String(fresh?.waitMs ?? 0),
      fresh?.priority ? '1' : '0',
    );
    return result === 1;
  }

  async releaseDuty(name: string, holder: string): Promise<void> {
    await this.redis.eval(RELEASE_DUTY, 1, this.key.duty(name), holder);
  }

  async recordLatency(counts: Readonly<Record<string, readonly number[]>>, now: number): Promise<void> {
    const slot = latencySlot(now);
    const pipeline = this.redis.pipeline();
    for (const [topic, buckets] of Object.entries(counts)) {
      const key = this.key.latency(topic, slot);
      buckets.forEach((n, i) => {
        if (n > 0) pipeline.hincrby(key, String(i), n);
      });
      pipeline.pexpire(key, LATENCY_WINDOW_MS * 2);
    }
    await execOrThrow(pipeline);
  }

  async latencyBuckets(topic: string, now: number): Promise<number[]> {
    const pipeline = this.redis.pipeline();
    for (const slot of latencyWindowSlots(now)) pipeline.hgetall(this.key.latency(topic, slot));
    const total = emptyLatencyBuckets();
    for (const reply of await execOrThrow(pipeline)) {
      for (const [index, raw] of Object.entries(reply as Record<string, string>)) {
        const i = Number(index);
        if (i >= 0 && i < LATENCY_BUCKET_COUNT) total[i] = (total[i] ?? 0) + Number(raw);
      }
    }
    return total;
  }

  async ping(): Promise<void> {
    await this.redis.ping();
  }

  async close(): Promise<void> {
    // The connection belongs to whoever created it (the app's Redis plugin closes it).
  }

  private markAlive(multi: ReturnType<Redis['multi']>, node: NodeInfo, ttlMs: number): void {
    const expiresAt = this.noteAlive(node, ttlMs);
    multi.zadd(this.key.nodes(), expiresAt, node.nodeId);
    multi.hset(this.key.urls(), node.nodeId, node.url);
  }

  /** Records locally that a node is alive for `ttlMs`; returns its new expiry. */
  private noteAlive(node: NodeInfo, ttlMs: number): number {
    const expiresAt = this.now() + ttlMs;
    this.nodeCache.set(node.nodeId, { url: node.url, expiresAt });
    this.knownExpiry.set(node.nodeId, Math.max(this.knownExpiry.get(node.nodeId) ?? 0, expiresAt));
    return expiresAt;
  }

  private async liveNodeIds(): Promise<string[]> {
    return this.redis.zrangebyscore(this.key.nodes(), `(${this.now()}`, '+inf');
  }

  /** Reloads live nodes and their URLs; concurrent callers share one refresh. */
  private refreshNodes(): Promise<void> {
    this.refreshing ??= (async () => {
      try {
        const startedAt = this.now();
        const [scored, urls] = await Promise.all([
          this.redis.zrangebyscore(this.key.nodes(), `(${startedAt}`, '+inf', 'WITHSCORES'),
          this.redis.hgetall(this.key.urls()),
        ]);
        const next = new Map<string, CachedNode>();
        for (let i = 0; i + 1 < scored.length; i += 2) {
          const nodeId = scored[i] as string;
          const url = urls[nodeId];
          const expiresAt = Number(scored[i + 1]);
          if (url) next.set(nodeId, { url, expiresAt });
          this.knownExpiry.set(nodeId, Math.max(this.knownExpiry.get(nodeId) ?? 0, expiresAt));
        }
        this.nodeCache = next;
        this.cacheAt = startedAt;
        for (const [nodeId, expiresAt] of this.knownExpiry) {
          if (expiresAt < startedAt - 60_000) this.knownExpiry.delete(nodeId);
        }
      } finally {
        this.refreshing = undefined;
      }
    })();
    return this.refreshing;
  }
}

async function execOrThrow(pipeline: ReturnType<Redis['pipeline']>): Promise<unknown[]> {
  const replies = (await pipeline.exec()) ?? [];
  return replies.map(([error, value]) => {
    if (error) throw error;
    return value;
  });
}
