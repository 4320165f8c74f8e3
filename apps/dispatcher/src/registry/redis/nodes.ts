import { pipelined, type RedisClient, slotOf } from '@ovation/shared/redis';
import type { NodeInfo, NodeRegistry } from '../registry.js';
import { tag } from './commands.js';

/*
 * Redis layout (under `prefix`). A node's keys share its hash tag, a topic's set sits beside the
 * topic's log, and the table of live nodes is spread over NODE_BUCKETS slots — on Redis Cluster no
 * key holds every node's data:
 *   <p>:node:{<id>}            HASH   url, exp (liveness expiry, ms), synced ('1' once its full sync
 *                                     completed since the store last lost its data)
 *   <p>:node:{<id>}:counts     HASH   topic -> local viewers on that node; its fields are the node's topics
 *   <p>:node:{<id>}:sync:<s>   HASH   topics named so far by the node's full sync <s> (expires)
 *   <p>:node:{<id>}:swept      STRING the node is being swept (its topics leave their sets); a full
 *                                     sync does not count as complete meanwhile (expires)
 *   <p>:nodes:{n<b>}           ZSET   nodeId -> liveness expiry, for the nodes of bucket b
 *   <p>:urls:{n<b>}            HASH   nodeId -> base URL the dispatchers POST to, same nodes
 *   <p>:topic:{<t>}:nodes      SET    nodeIds with viewers of topic t (read by the accept script)
 *
 * What the order of steps guarantees (they are not one atomic step on a cluster):
 *   - A topic set is added to before the node's counts name the topic, and the counts lose a topic
 *     before its set does: a topic the counts name is in its set, or the node resyncs (the counts'
 *     length is what a heartbeat compares). A set may name a node with no viewers there for a
 *     moment: it gets an event it drops.
 *   - Sweeping a dead node: its keys go (atomically, only if still expired) and a tombstone is set;
 *     then its topics leave their sets; then the tombstone goes. A node that comes back meanwhile is
 *     told to resync, and no full sync completes while the tombstone exists, so the sync that counts
 *     runs after its topics left their sets and puts them all back.
 *
 * Node URLs and liveness come from a small in-memory table refreshed at most every NODE_CACHE_MS,
 * so a publish costs one round trip to Redis (the accept script reads the topic sets).
 */

/** Buckets the table of live nodes is spread over (a bucket is two keys in one slot). */
export const NODE_BUCKETS = 16;
const NODE_CACHE_MS = 250;
/** Refresh at once for an id the table does not know, but not more often than this. */
const NODE_CACHE_MISS_MS = 25;
/** A sync's list of named topics outlives a stalled sync by this much, no more. */
const SYNC_TTL_MS = 120_000;
/** A sweeper that died mid-sweep holds a node's syncs back this long at most. */
const SWEPT_TTL_MS = 60_000;

// Liveness plus changed counts, and whether the registry holds the node's full state.
// KEYS: node hash, counts hash, tombstone. ARGV: url, expiresAt, topics the node holds, then topic,
// count pairs. Returns 1 when the node should resync: it was not known, its full sync has not
// completed since the store lost its data, it is being swept, or its topics differ in number.
const HEARTBEAT = `
local known = redis.call('HEXISTS', KEYS[1], 'url') == 1
local synced = redis.call('HGET', KEYS[1], 'synced') == '1'
redis.call('HSET', KEYS[1], 'url', ARGV[1], 'exp', ARGV[2])
for i = 4, #ARGV, 2 do redis.call('HSET', KEYS[2], ARGV[i], ARGV[i + 1]) end
if not known or not synced or redis.call('EXISTS', KEYS[3]) == 1 then return 1 end
if redis.call('HLEN', KEYS[2]) ~= tonumber(ARGV[3]) then return 1 end
return 0`;

// A part of a full sync. KEYS: node hash, counts hash, the sync's hash. ARGV: url, expiresAt, sync
// TTL ms, then topic, count pairs.
const SYNC_PART = `
redis.call('HSET', KEYS[1], 'url', ARGV[1], 'exp', ARGV[2])
for i = 4, #ARGV, 2 do
  redis.call('HSET', KEYS[2], ARGV[i], ARGV[i + 1])
  redis.call('HSET', KEYS[3], ARGV[i], '1')
end
redis.call('PEXPIRE', KEYS[3], ARGV[3])
return 1`;

// The last part of a full sync: the node's topics no part named leave its counts (returned, for
// their sets); the node is synced unless it is being swept. KEYS: node hash, counts hash, the sync's
// hash, tombstone.
const FINISH_SYNC = `
local gone = {}
for _, t in ipairs(redis.call('HKEYS', KEYS[2])) do
  if redis.call('HEXISTS', KEYS[3], t) == 0 then
    redis.call('HDEL', KEYS[2], t)
    gone[#gone + 1] = t
  end
end
redis.call('DEL', KEYS[3])
if redis.call('EXISTS', KEYS[4]) == 0 and redis.call('EXISTS', KEYS[1]) == 1 then
  redis.call('HSET', KEYS[1], 'synced', '1')
end
return gone`;

// New topics of a node. KEYS: node hash, counts hash. ARGV: url, expiresAt, then topics.
const ADD_TOPICS = `
redis.call('HSET', KEYS[1], 'url', ARGV[1], 'exp', ARGV[2])
for i = 3, #ARGV do redis.call('HSETNX', KEYS[2], ARGV[i], '0') end
return 1`;

// Removes a node whose liveness is still expired (a heartbeat may have come since it was listed):
// its keys go, a tombstone is set; returns its topics (for their sets), or false when it is alive.
// KEYS: node hash, counts hash, tombstone. ARGV: now, tombstone TTL ms.
const SWEEP_NODE = `
local exp = redis.call('HGET', KEYS[1], 'exp')
if exp and tonumber(exp) > tonumber(ARGV[1]) then return false end
local topics = redis.call('HKEYS', KEYS[2])
redis.call('DEL', KEYS[1], KEYS[2])
redis.call('SET', KEYS[3], '1', 'PX', ARGV[2])
return topics`;

// Takes a swept node out of its bucket, unless a heartbeat put it back since. KEYS: bucket zset,
// bucket urls. ARGV: nodeId, now.
const UNLIST_NODE = `
local score = redis.call('ZSCORE', KEYS[1], ARGV[1])
if score and tonumber(score) > tonumber(ARGV[2]) then return 0 end
redis.call('ZREM', KEYS[1], ARGV[1])
redis.call('HDEL', KEYS[2], ARGV[1])
return 1`;

interface CachedNode {
  url: string;
  expiresAt: number;
}

export class RedisNodeRegistry implements NodeRegistry {
  private nodeCache = new Map<string, CachedNode>();
  private cacheAt = 0;
  private refreshing: Promise<void> | undefined;
  /**
   * The latest liveness expiry seen for each node (heartbeats here, table refreshes): a node stays
   * alive for deliveries until it passes, even when a store that lost its data no longer lists it.
   */
  private readonly knownExpiry = new Map<string, number>();

  constructor(
    private readonly redis: RedisClient,
    private readonly prefix: string,
    private readonly now: () => number = Date.now,
  ) {}

  private key = {
    node: (nodeId: string) => `${this.prefix}:node:${tag(nodeId)}`,
    counts: (nodeId: string) => `${this.prefix}:node:${tag(nodeId)}:counts`,
    sync: (nodeId: string, syncId: string) => `${this.prefix}:node:${tag(nodeId)}:sync:${syncId}`,
    swept: (nodeId: string) => `${this.prefix}:node:${tag(nodeId)}:swept`,
    bucket: (b: number) => `${this.prefix}:nodes:${tag(`n${b}`)}`,
    urls: (b: number) => `${this.prefix}:urls:${tag(`n${b}`)}`,
    topic: (topic: string) => `${this.prefix}:topic:${tag(topic)}:nodes`,
  };

  private bucketOf(nodeId: string): number {
    return slotOf(nodeId) % NODE_BUCKETS;
  }

  async heartbeat(
    node: NodeInfo,
    counts: Readonly<Record<string, number>>,
    ttlMs: number,
    topics: number,
  ): Promise<{ resync: boolean }> {
    const expiresAt = this.noteAlive(node, ttlMs);
    const entries = Object.entries(counts);
    // Sets first: the counts never name a topic whose set lacks the node.
    await this.addToSets(
      node.nodeId,
      entries.map(([topic]) => topic),
    );
    const args = [node.url, String(expiresAt), String(topics), ...entries.flatMap(([t, n]) => [t, String(n)])];
    const [resync] = await Promise.all([
      this.redis.eval(
        HEARTBEAT,
        3,
        this.key.node(node.nodeId),
        this.key.counts(node.nodeId),
        this.key.swept(node.nodeId),
        ...args,
      ),
      this.list(node, expiresAt),
    ]);
    return { resync: resync === 1 };
  }

  async syncTopics(
    node: NodeInfo,
    syncId: string,
    counts: Readonly<Record<string, number>>,
    last: boolean,
    ttlMs: number,
  ): Promise<void> {
    const { nodeId } = node;
    const expiresAt = this.noteAlive(node, ttlMs);
    const entries = Object.entries(counts);
    await this.addToSets(
      nodeId,
      entries.map(([topic]) => topic),
    );
    await Promise.all([
      this.redis.eval(
        SYNC_PART,
        3,
        this.key.node(nodeId),
        this.key.counts(nodeId),
        this.key.sync(nodeId, syncId),
        node.url,
        String(expiresAt),
        String(SYNC_TTL_MS),
        ...entries.flatMap(([t, n]) => [t, String(n)]),
      ),
      this.list(node, expiresAt),
    ]);
    if (!last) return;
    const gone = (await this.redis.eval(
      FINISH_SYNC,
      4,
      this.key.node(nodeId),
      this.key.counts(nodeId),
      this.key.sync(nodeId, syncId),
      this.key.swept(nodeId),
    )) as string[];
    await this.removeFromSets(nodeId, gone);
  }

  async syncedNodes(nodeIds: readonly string[]): Promise<Set<string>> {
    const flags = await pipelined<string, string | null>(this.redis, nodeIds, this.key.node, (p, nodeId) =>
      p.hget(this.key.node(nodeId), 'synced'),
    );
    return new Set(nodeIds.filter((_, i) => flags[i] === '1'));
  }

  async nodeAlive(nodeId: string): Promise<boolean> {
    if ((this.knownExpiry.get(nodeId) ?? 0) > this.now()) return true;
    await this.refreshNodes();
    return (this.knownExpiry.get(nodeId) ?? 0) > this.now();
  }

  async addTopics(node: NodeInfo, topics: readonly string[], ttlMs: number): Promise<void> {
    const expiresAt = this.noteAlive(node, ttlMs);
    await this.addToSets(node.nodeId, topics);
    await Promise.all([
      this.redis.eval(
        ADD_TOPICS,
        2,
        this.key.node(node.nodeId),
        this.key.counts(node.nodeId),
        node.url,
        String(expiresAt),
        ...topics,
      ),
      this.list(node, expiresAt),
    ]);
  }

  async removeTopics(nodeId: string, topics: readonly string[]): Promise<void> {
    if (topics.length === 0) return;
    // Counts first: a set never lacks a topic the counts still name.
    await this.redis.hdel(this.key.counts(nodeId), ...topics);
    await this.removeFromSets(nodeId, topics);
  }

  async nodesFor(topics: readonly string[]): Promise<Map<string, NodeInfo[]>> {
    const replies = await pipelined<string, string[]>(this.redis, topics, this.key.topic, (p, topic) =>
      p.smembers(this.key.topic(topic)),
    );
    const nodes = await this.resolveNodes(replies);
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

  async viewerCounts(): Promise<Map<string, number>> {
    const ids = await this.liveNodeIds();
    const replies = await pipelined<string, Record<string, string>>(this.redis, ids, this.key.counts, (p, id) =>
      p.hgetall(this.key.counts(id)),
    );
    const totals = new Map<string, number>();
    for (const reply of replies) {
      for (const [topic, raw] of Object.entries(reply))
        totals.set(topic, (totals.get(topic) ?? 0) + (Number(raw) || 0));
    }
    return totals;
  }

  async topicViewers(topics: readonly string[]): Promise<number[]> {
    const totals = topics.map(() => 0);
    if (topics.length === 0) return totals;
    const ids = await this.liveNodeIds();
    const replies = await pipelined<string, Array<string | null>>(this.redis, ids, this.key.counts, (p, id) =>
      p.hmget(this.key.counts(id), ...topics),
    );
    for (const reply of replies) {
      reply.forEach((count, i) => {
        totals[i] = (totals[i] ?? 0) + (Number(count ?? 0) || 0);
      });
    }
    return totals;
  }

  async sweepExpired(): Promise<string[]> {
    const now = this.now();
    const buckets = Array.from({ length: NODE_BUCKETS }, (_, b) => b);
    const expired = await Promise.all(buckets.map((b) => this.redis.zrangebyscore(this.key.bucket(b), '-inf', now)));
    const removed: string[] = [];
    for (const nodeId of expired.flat()) {
      const topics = (await this.redis.eval(
        SWEEP_NODE,
        3,
        this.key.node(nodeId),
        this.key.counts(nodeId),
        this.key.swept(nodeId),
        String(now),
        String(SWEPT_TTL_MS),
      )) as string[] | null;
      if (topics === null) continue; // alive again: a heartbeat came since
      await this.removeFromSets(nodeId, topics);
      const b = this.bucketOf(nodeId);
      await this.redis.eval(UNLIST_NODE, 2, this.key.bucket(b), this.key.urls(b), nodeId, String(now));
      await this.redis.del(this.key.swept(nodeId));
      removed.push(nodeId);
      this.nodeCache.delete(nodeId);
    }
    // Kept fresh here too: a dispatcher that routed nothing lately (all publishes went to another)
    // still knows which nodes were alive when the store loses its data (knownLiveNodeIds).
    await this.refreshNodes();
    return removed;
  }

  /** Adds the node to each topic's set (they may live on several shards: one pipeline per shard). */
  private async addToSets(nodeId: string, topics: readonly string[]): Promise<void> {
    await pipelined(this.redis, topics, this.key.topic, (p, topic) => p.sadd(this.key.topic(topic), nodeId));
  }

  /** Takes the node out of each topic's set. */
  private async removeFromSets(nodeId: string, topics: readonly string[]): Promise<void> {
    await pipelined(this.redis, topics, this.key.topic, (p, topic) => p.srem(this.key.topic(topic), nodeId));
  }

  /** The node's entry in its bucket of the live-node table: liveness and URL, one slot. */
  private async list(node: NodeInfo, expiresAt: number): Promise<void> {
    const b = this.bucketOf(node.nodeId);
    const multi = this.redis
      .multi()
      .zadd(this.key.bucket(b), expiresAt, node.nodeId)
      .hset(this.key.urls(b), node.nodeId, node.url);
    for (const [error] of (await multi.exec()) ?? []) if (error) throw error;
  }

  /** Records locally that a node is alive for `ttlMs`; returns its new expiry. */
  private noteAlive(node: NodeInfo, ttlMs: number): number {
    const expiresAt = this.now() + ttlMs;
    this.nodeCache.set(node.nodeId, { url: node.url, expiresAt });
    this.knownExpiry.set(node.nodeId, Math.max(this.knownExpiry.get(node.nodeId) ?? 0, expiresAt));
    return expiresAt;
  }

  private async liveNodeIds(): Promise<string[]> {
    const now = `(${this.now()}`;
    const lists = await Promise.all(
      Array.from({ length: NODE_BUCKETS }, (_, b) => this.redis.zrangebyscore(this.key.bucket(b), now, '+inf')),
    );
    return lists.flat();
  }

  /** Reloads live nodes and their URLs; concurrent callers share one refresh. */
  private refreshNodes(): Promise<void> {
    this.refreshing ??= (async () => {
      try {
        const startedAt = this.now();
        const buckets = await Promise.all(
          Array.from({ length: NODE_BUCKETS }, (_, b) =>
            Promise.all([
              this.redis.zrangebyscore(this.key.bucket(b), `(${startedAt}`, '+inf', 'WITHSCORES'),
              this.redis.hgetall(this.key.urls(b)),
            ]),
          ),
        );
        const next = new Map<string, CachedNode>();
        for (const [scored, urls] of buckets) {
          for (let i = 0; i + 1 < scored.length; i += 2) {
            const nodeId = scored[i] as string;
            const url = urls[nodeId];
            const expiresAt = Number(scored[i + 1]);
            if (url) next.set(nodeId, { url, expiresAt });
            this.knownExpiry.set(nodeId, Math.max(this.knownExpiry.get(nodeId) ?? 0, expiresAt));
          }
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
