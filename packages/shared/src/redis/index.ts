import calculateSlot from 'cluster-key-slot';
import { type ChainableCommander, Cluster, Redis, type RedisOptions } from 'ioredis';
import { z } from 'zod';
import { ConfigError } from '../config.js';

/*
 * Where a service keeps its Redis data: one server (`REDIS_URL`) or a Redis Cluster
 * (`REDIS_CLUSTER_NODES=host:port,host:port`, seed nodes; the rest are discovered). Every service
 * that uses Redis reads the same two variables through `redisTargetShape` and opens its client
 * with `openRedis`, so a command behaves the same whichever the store is:
 *
 *   - it fails fast: refused at once while disconnected, failed past `commandTimeout`;
 *   - it is never sent twice: a command whose connection closed before its answer may have run,
 *     so it fails (the caller decides; a publish answers 503) — on a cluster too, where ioredis
 *     would otherwise resend it to the new master after a failover. Redirections (MOVED, ASK,
 *     TRYAGAIN, CLUSTERDOWN) are followed: Redis did not run the command then.
 *
 * On a cluster every multi-key command and script must hold keys of one hash slot: the drivers
 * put a topic's, a video's or a node's keys under one hash tag (`{…}`), and what spans slots is
 * split per slot (`groupBySlot`).
 */

export type RedisTarget =
  | { kind: 'server'; url: string }
  | { kind: 'cluster'; nodes: Array<{ host: string; port: number }> };

/** A client of either kind; commands with keys route themselves. */
export type RedisClient = Redis | Cluster;

const clusterNodes = z.string().transform((raw, ctx) => {
  const nodes: Array<{ host: string; port: number }> = [];
  for (const entry of raw
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0)) {
    const match = /^([A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\]):(\d{1,5})$/.exec(entry);
    const port = Number(match?.[2]);
    if (!match?.[1] || !Number.isInteger(port) || port < 1 || port > 65535) {
      ctx.addIssue({ code: 'custom', message: 'must be a comma list of host:port (seed nodes of the cluster)' });
      return z.NEVER;
    }
    nodes.push({ host: match[1].replace(/^\[|\]$/g, ''), port });
  }
  if (nodes.length === 0) {
    ctx.addIssue({ code: 'custom', message: 'must name at least one host:port' });
    return z.NEVER;
  }
  return nodes;
});

/** The two variables, for a service's env schema (parseEnv); `redisTarget` reads them. */
export const redisTargetShape = {
  REDIS_URL: z.url({ protocol: /^rediss?$/, error: 'must be a redis:// or rediss:// URL' }).optional(),
  REDIS_CLUSTER_NODES: clusterNodes.optional(),
};

/** The store the parsed variables select (undefined: none, the in-memory engine). */
export function redisTarget(parsed: {
  REDIS_URL?: string | undefined;
  REDIS_CLUSTER_NODES?: Array<{ host: string; port: number }> | undefined;
}): RedisTarget | undefined {
  if (parsed.REDIS_URL && parsed.REDIS_CLUSTER_NODES) {
    throw new ConfigError(
      'REDIS_CLUSTER_NODES',
      'set REDIS_URL (one server) or REDIS_CLUSTER_NODES (a cluster), not both',
    );
  }
  if (parsed.REDIS_CLUSTER_NODES) return { kind: 'cluster', nodes: parsed.REDIS_CLUSTER_NODES };
  if (parsed.REDIS_URL) return { kind: 'server', url: parsed.REDIS_URL };
  return undefined;
}

export interface OpenRedisOptions {
  /** A command not answered within this fails. */
  commandTimeoutMs: number;
  /** Retries of a command refused while reconnecting (never of one that may have run). */
  maxRetriesPerRequest: number;
  connectTimeoutMs?: number;
}

/** A fail-fast client for the target (see the top of this file). */
export function openRedis(target: RedisTarget, options: OpenRedisOptions): RedisClient {
  const perConnection: RedisOptions = {
    enableOfflineQueue: false,
    // Never sent again on a new connection: the first may have run.
    autoResendUnfulfilledCommands: false,
    maxRetriesPerRequest: options.maxRetriesPerRequest,
    commandTimeout: options.commandTimeoutMs,
    connectTimeout: options.connectTimeoutMs ?? 2000,
    retryStrategy: (attempt) => Math.min(50 * attempt, 1000),
  };
  if (target.kind === 'server') return new Redis(target.url, perConnection);
  const cluster = new Cluster(target.nodes, {
    redisOptions: perConnection,
    enableOfflineQueue: false,
    // 0: a command whose connection closed is failed, not resent to the next master (it may have run).
    retryDelayOnFailover: 0,
    retryDelayOnClusterDown: 100,
    retryDelayOnTryAgain: 100,
    maxRedirections: 16,
    // The slot map is read again this often, and at once on a redirection or a lost node. A
    // refresh that times out on every node drops all connections: generous, for a busy process.
    slotsRefreshInterval: 5000,
    slotsRefreshTimeout: 5000,
    clusterRetryStrategy: (attempt) => Math.min(100 * attempt, 2000),
  });
  // ioredis connects to a node on its first command, and fails-fast refuses the commands that come
  // while that connection is being made: connect to every node as soon as it is known instead.
  cluster.on('+node', (node: Redis) => {
    if (node.status === 'wait') node.connect().catch(() => {});
  });
  return cluster;
}

export function isCluster(client: RedisClient): client is Cluster {
  return client instanceof Cluster;
}

/**
 * Whether the client can take commands now. A cluster: its slot map is known and every slot's
 * master, as that map says, is connected (a command for a master it is still connecting to fails
 * at once: fail-fast; a master that died leaves the node list while its slots still name it).
 */
export function redisReady(client: RedisClient): boolean {
  if (client.status !== 'ready') return false;
  if (!isCluster(client)) return true;
  const connected = new Set(
    client
      .nodes('master')
      .filter((node) => node.status === 'ready')
      .map(nodeAddress),
  );
  for (let slot = 0; slot < 16384; slot++) {
    const master = client.slots[slot]?.[0];
    if (master === undefined || !connected.has(master)) return false;
  }
  return true;
}

/** The hash slot of a key (its `{tag}` when it has one), as Redis Cluster computes it. */
export function slotOf(key: string): number {
  return calculateSlot(key);
}

let tagsBySlot: string[] | undefined;

/**
 * A short hash tag whose slot is `slot`: keys `…{<tag>}…` live in that slot. Lets per-slot keys
 * (a slot's store marker, a request's idempotency record for its topics in that slot) sit beside
 * the topics they cover, so one script can hold them all. The table is built once (~170K CRCs).
 */
export function slotTag(slot: number): string {
  if (!tagsBySlot) {
    const table: string[] = new Array(16384);
    let found = 0;
    for (let n = 0; found < 16384; n++) {
      const tag = n.toString(36);
      const s = calculateSlot(tag);
      if (table[s] === undefined) {
        table[s] = tag;
        found++;
      }
    }
    tagsBySlot = table;
  }
  const tag = tagsBySlot[slot];
  if (tag === undefined) throw new RangeError(`no hash slot ${slot}`);
  return tag;
}

/**
 * Items grouped by the hash slot of their key, in first-seen order; one group on a single server
 * (`cluster` false), where a script may hold any keys.
 */
export function groupBySlot<T>(
  items: readonly T[],
  keyOf: (item: T) => string,
  cluster: boolean,
): Array<{ slot: number; items: T[] }> {
  if (!cluster) return items.length === 0 ? [] : [{ slot: -1, items: [...items] }];
  const groups = new Map<number, T[]>();
  for (const item of items) {
    const slot = slotOf(keyOf(item));
    const group = groups.get(slot);
    if (group) group.push(item);
    else groups.set(slot, [item]);
  }
  return [...groups].map(([slot, grouped]) => ({ slot, items: grouped }));
}

/**
 * Waits until `replicas` replicas have every write sent before on a master connection, at most
 * `timeoutMs`; resolves how many did. WAIT must go on the very connection the writes went on, and it
 * holds that connection while it waits — so waits are shared: one WAIT in flight per connection,
 * and callers that come meanwhile share the next one (sent when it returns), which covers their
 * writes too. A publish split over many slots of one master costs two WAITs, not one per slot.
 */
export class ReplicaWaiter {
  private readonly waits = new WeakMap<Redis, { inFlight: boolean; next?: Deferred<number> }>();

  constructor(
    private readonly client: RedisClient,
    private readonly replicas: number,
    private readonly timeoutMs: number,
  ) {}

  /**
   * The connection a command for `slot` goes to now: on a cluster the slot's master in the
   * client's slot map (a failover or a redirection changes it), on one server the client.
   */
  connectionOf(slot: number): Redis | undefined {
    return isCluster(this.client) ? masterOf(this.client, slot) : this.client;
  }

  /** After a write on `connection` was answered: until replicas have it. */
  waitOn(connection: Redis): Promise<number> {
    let state = this.waits.get(connection);
    if (!state) {
      state = { inFlight: false };
      this.waits.set(connection, state);
    }
    state.next ??= deferred<number>();
    const joined = state.next.promise;
    if (!state.inFlight) this.send(connection, state);
    return joined;
  }

  private send(connection: Redis, state: { inFlight: boolean; next?: Deferred<number> }): void {
    const batch = state.next;
    if (!batch) return;
    state.next = undefined;
    state.inFlight = true;
    connection
      .wait(this.replicas, this.timeoutMs)
      .then((acked) => batch.resolve(Number(acked)), batch.reject)
      .finally(() => {
        state.inFlight = false;
        if (state.next) this.send(connection, state);
      });
  }
}

interface Deferred<T> {
  promise: Promise<T>;
  resolve(value: T): void;
  reject(error: unknown): void;
}

function deferred<T>(): Deferred<T> {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/**
 * Runs one command per item, pipelined: on one server in one pipeline; on a cluster in one
 * pipeline per master, as its slot map says now (a pipeline must hold keys of one node's slots).
 * Results in item order; the first error fails the whole (a moved slot included: the caller
 * retries). Many single commands cost one write per node instead of one per command.
 */
export async function pipelined<T, R>(
  client: RedisClient,
  items: readonly T[],
  keyOf: (item: T) => string,
  add: (pipeline: ChainableCommander, item: T) => void,
): Promise<R[]> {
  if (items.length === 0) return [];
  const groups = new Map<string, number[]>();
  if (isCluster(client)) {
    items.forEach((item, i) => {
      const node = client.slots[slotOf(keyOf(item))]?.join(';') ?? '';
      const group = groups.get(node);
      if (group) group.push(i);
      else groups.set(node, [i]);
    });
  } else {
    groups.set(
      '',
      items.map((_, i) => i),
    );
  }
  const results: R[] = new Array(items.length);
  await Promise.all(
    [...groups.values()].map(async (indexes) => {
      const pipeline = client.pipeline();
      for (const i of indexes) add(pipeline, items[i] as T);
      const replies = (await pipeline.exec()) ?? [];
      indexes.forEach((i, k) => {
        const [error, value] = replies[k] ?? [new Error('no reply'), undefined];
        if (error) throw error;
        results[i] = value as R;
      });
    }),
  );
  return results;
}

/** The cluster's connection to the master of `slot`, as its slot map says now. */
export function masterOf(cluster: Cluster, slot: number): Redis | undefined {
  const key = cluster.slots[slot]?.[0];
  if (key === undefined) return undefined;
  return cluster.nodes('master').find((node) => nodeAddress(node) === key);
}

/** A node connection's `host:port`, as the cluster's slot map names nodes. */
function nodeAddress(node: Redis): string {
  return `${node.options.host}:${node.options.port}`;
}

/** Every master's connection (a single server: itself), for commands that look at all data (SCAN). */
export function masters(client: RedisClient): Redis[] {
  return isCluster(client) ? client.nodes('master') : [client];
}
