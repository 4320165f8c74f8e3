import { masters, pipelined, slotOf } from '@ovation/shared/redis';
import Denque from 'denque';
import type { Cluster, Redis } from 'ioredis';
import type { ReplicaConfirmations } from '../topic-log/confirmations.js';
import { outboxIndexKey, outboxKey } from '../topic-log/redis-topic-log.js';

/*
 * Where events published in this region wait until a peer region has taken them:
 *
 *   publish ─▶ accept (topic log) ──same atomic step──▶ outbox of every peer region
 *                                                           │ one relayer per region and peer
 *                                                           ▼ (relayer.ts; any dispatcher may be it)
 *                                                       POST /internal/relay ─▶ peer, then removed
 *
 * With Redis the accept script itself appends to the outbox streams, so an event that got a 202
 * is relayed even if the dispatcher that accepted it dies a moment later, or its answer from Redis
 * was lost: the next relayer takes over where the outbox stands. In order, too: the outbox holds
 * events in the order the region accepted them. The memory engine (one dispatcher) keeps it in
 * this process.
 *
 * With replicas asked to confirm (REDIS_WAIT_REPLICAS), what is read goes to the peer only once
 * the replicas have it too (confirmations.ts): an accept that got 503 because they did not is in
 * the outbox all the same, and a failover could take it back from the log after a peer showed it.
 */
export interface OutboxEntry {
  id: string;
  /** Wire events (JSON objects joined by commas), in the order they were accepted. */
  joined: string;
  /** How many. */
  count: number;
}

export interface RelayOutbox {
  /** Entries after `after` ('0': from the start), waiting up to `blockMs` while there are none. */
  read(peer: string, after: string, count: number, blockMs: number): Promise<OutboxEntry[]>;
  /** The peer took these entries: they go. */
  ack(peer: string, ids: readonly string[]): Promise<void>;
  /** Events waiting for a peer (for the metrics). */
  size(peer: string): Promise<number>;
  /** Memory engine: events just accepted (the Redis outbox is written by the accept script). */
  add(wires: readonly string[]): void;
  close(): Promise<void>;
}

// Removes entries the peer took, and their events and bytes from the outbox's size.
// KEYS: outbox stream, its size hash. ARGV: entry ids.
const ACK = `
for i = 1, #ARGV do
  local entry = redis.call('XRANGE', KEYS[1], ARGV[i], ARGV[i])[1]
  if entry then
    redis.call('XDEL', KEYS[1], ARGV[i])
    redis.call('HINCRBY', KEYS[2], 'events', -tonumber(entry[2][2]))
    redis.call('HINCRBY', KEYS[2], 'bytes', -tonumber(entry[2][4]))
  end
end
return 1`;

export class RedisOutbox implements RelayOutbox {
  /** Blocking reads get their own connections (one per peer): a blocked connection serves no one else. */
  private readonly readers = new Map<string, Redis>();

  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
    private readonly confirmations?: ReplicaConfirmations,
  ) {}

  private reader(peer: string): Redis {
    let reader = this.readers.get(peer);
    if (!reader) {
      // A read blocks up to its BLOCK time; past that plus a margin the store is stuck: fail, retry.
      reader = this.redis.duplicate({ enableOfflineQueue: false, commandTimeout: 5000 });
      reader.on('error', () => {});
      this.readers.set(peer, reader);
    }
    return reader;
  }

  async read(peer: string, after: string, count: number, blockMs: number): Promise<OutboxEntry[]> {
    let reply: Array<[string, Array<[string, string[]]>]> | null;
    try {
      reply = (await this.reader(peer).xread(
        'COUNT',
        count,
        'BLOCK',
        blockMs,
        'STREAMS',
        outboxKey(this.prefix, peer),
        after,
      )) as Array<[string, Array<[string, string[]]>]> | null;
    } catch (error) {
      // A read that timed out (past BLOCK: the connection may be dead, see connection-watchdog.ts)
      // gets a new connection next time; one not connected yet just waits for it.
      if (error instanceof Error && error.message.includes('timed out')) {
        this.readers.get(peer)?.disconnect();
        this.readers.delete(peer);
      }
      throw error;
    }
    const entries: OutboxEntry[] = [];
    for (const [id, fields] of reply?.[0]?.[1] ?? []) {
      const entry = parseEntry(id, fields);
      if (entry) entries.push(entry);
    }
    // One server: the reader's connection and the client's reach the same one.
    const { confirmations } = this;
    if (entries.length > 0 && confirmations && !(await confirmations.soFar(-1, confirmations.connectionOf(-1)))) {
      throw new Error('outbox entries not confirmed by a Redis replica in time');
    }
    return entries;
  }

  async ack(peer: string, ids: readonly string[]): Promise<void> {
    if (ids.length === 0) return;
    const key = outboxKey(this.prefix, peer);
    await this.redis.eval(ACK, 2, key, `${key}:size`, ...ids);
  }

  async size(peer: string): Promise<number> {
    return Number((await this.redis.hget(`${outboxKey(this.prefix, peer)}:size`, 'events')) ?? 0);
  }

  add(): void {}

  async close(): Promise<void> {
    for (const reader of this.readers.values()) reader.disconnect();
    this.readers.clear();
  }
}

/** How often the cluster outbox looks for slot outboxes its index lacks (a dispatcher died in between). */
const INDEX_SCAN_MS = 30_000;
/** How often a cluster outbox with nothing to read looks again, within a read's block time. */
const POLL_MS = 50;

/**
 * The outbox on Redis Cluster: one stream per hash slot and peer (outboxKey), written by the
 * accept script beside the topics, and an index of the slots that may hold entries (a ZSET the
 * dispatcher adds to after the accept, before the 202). A read takes entries from every indexed
 * slot after that slot's cursor — per slot in order, so per topic in order; across topics as they
 * come. A slot whose stream is empty after an ack leaves the index, then is looked at again: an
 * entry written meanwhile puts it back, so none is left behind. Every INDEX_SCAN_MS the masters
 * are scanned for outboxes the index lacks (a dispatcher that died between accept and index).
 * Entry ids are `<slot>/<stream id>`.
 */
export class ClusterOutbox implements RelayOutbox {
  /** Per peer: the last stream id read in each slot. */
  private readonly cursors = new Map<string, Map<number, string>>();
  private readonly scannedAt = new Map<string, number>();

  constructor(
    private readonly redis: Cluster,
    private readonly prefix: string,
    private readonly confirmations?: ReplicaConfirmations,
  ) {}

  async read(peer: string, after: string, count: number, blockMs: number): Promise<OutboxEntry[]> {
    // '0': a relayer starting from what is in the outbox (a new duty holder).
    if (after === '0' || !this.cursors.has(peer)) this.cursors.set(peer, new Map());
    const cursors = this.cursors.get(peer) as Map<number, string>;
    const deadline = Date.now() + blockMs;
    for (;;) {
      await this.scanIfDue(peer);
      const slots = (await this.redis.zrange(outboxIndexKey(this.prefix, peer), 0, -1)).map(Number);
      // The connections the reads go out on (the slot map at this moment): confirmations ask them.
      const sentTo = new Map(slots.map((slot) => [slot, this.confirmations?.connectionOf(slot)]));
      const replies = await pipelined<number, Array<[string, string[]]>>(
        this.redis,
        slots,
        (slot) => outboxKey(this.prefix, peer, slot),
        (pipeline, slot) => {
          const cursor = cursors.get(slot);
          pipeline.xrange(outboxKey(this.prefix, peer, slot), cursor ? `(${cursor}` : '-', '+', 'COUNT', count);
        },
      );
      // A slot whose entries the replicas may lack is read again next time (its cursor stays).
      const read = slots
        .filter((_, i) => (replies[i]?.length ?? 0) > 0)
        .map((slot) => ({ slot, sentTo: sentTo.get(slot) }));
      const held = this.confirmations ? await this.confirmations.slotsHeld(read) : undefined;
      const entries: OutboxEntry[] = [];
      slots.forEach((slot, i) => {
        if (held && !held.has(slot)) return;
        for (const [id, fields] of replies[i] ?? []) {
          if (entries.length >= count) return;
          const entry = parseEntry(`${slot}/${id}`, fields);
          if (entry) entries.push(entry);
          cursors.set(slot, id);
        }
      });
      if (entries.length > 0 || Date.now() >= deadline) return entries;
      await new Promise((resolve) => setTimeout(resolve, Math.min(POLL_MS, deadline - Date.now())));
    }
  }

  async ack(peer: string, ids: readonly string[]): Promise<void> {
    const bySlot = new Map<number, string[]>();
    for (const id of ids) {
      const [slot, streamId] = id.split('/');
      if (slot === undefined || streamId === undefined) continue;
      bySlot.set(Number(slot), [...(bySlot.get(Number(slot)) ?? []), streamId]);
    }
    const index = outboxIndexKey(this.prefix, peer);
    await Promise.all(
      [...bySlot].map(async ([slot, streamIds]) => {
        const key = outboxKey(this.prefix, peer, slot);
        await this.redis.eval(ACK, 2, key, `${key}:size`, ...streamIds);
        if ((await this.redis.xlen(key)) > 0) return;
        // Empty: out of the index, then looked at again — an entry written meanwhile puts it back.
        await this.redis.zrem(index, slot);
        if ((await this.redis.xlen(key)) > 0) await this.redis.zadd(index, 'NX', Date.now(), slot);
      }),
    );
  }

  async size(peer: string): Promise<number> {
    const slots = (await this.redis.zrange(outboxIndexKey(this.prefix, peer), 0, -1)).map(Number);
    const sizes = await pipelined<number, string | null>(
      this.redis,
      slots,
      (slot) => outboxKey(this.prefix, peer, slot),
      (pipeline, slot) => {
        pipeline.hget(`${outboxKey(this.prefix, peer, slot)}:size`, 'events');
      },
    );
    return sizes.reduce((sum, n) => sum + (Number(n ?? 0) || 0), 0);
  }

  add(): void {}

  async close(): Promise<void> {}

  /** Indexes slot outboxes found on the masters that the index lacks, every INDEX_SCAN_MS. */
  private async scanIfDue(peer: string): Promise<void> {
    const now = Date.now();
    if (now - (this.scannedAt.get(peer) ?? 0) < INDEX_SCAN_MS) return;
    this.scannedAt.set(peer, now);
    const pattern = `${this.prefix}:relay:${peer}:{*}`;
    const found = new Set<number>();
    for (const master of masters(this.redis)) {
      let cursor = '0';
      do {
        const [next, keys] = await master.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
        cursor = next;
        for (const key of keys) if (!key.endsWith(':size')) found.add(slotOf(key));
      } while (cursor !== '0');
    }
    const index = outboxIndexKey(this.prefix, peer);
    await Promise.all([...found].map((slot) => this.redis.zadd(index, 'NX', now, slot)));
  }
}

/** An outbox stream entry as the accept script writes it: n <count> b <bytes> e <joined>. */
function parseEntry(id: string, fields: string[]): OutboxEntry | undefined {
  const joined = fields[5];
  if (fields[0] !== 'n' || fields[4] !== 'e' || joined === undefined) return undefined;
  return { id, joined, count: Number(fields[1]) };
}

/**
 * The memory engine's outbox: per peer, entries in this process; past `maxEvents` or `maxBytes`
 * the oldest are dropped (and counted).
 *
 * Each peer's entries are a deque in id order (ids only grow): an add appends, dropping the oldest
 * shifts (O(1) each, where Array#shift may move every entry), a read finds its start by binary
 * search and an ack removes from the front, where what was read and sent sits.
 */
export class MemoryOutbox implements RelayOutbox {
  private readonly queues = new Map<string, { entries: Denque<OutboxEntry>; events: number; bytes: number }>();
  private readonly waiters = new Map<string, () => void>();
  private next = 1;
  /** Events dropped because a peer's outbox was full. */
  dropped = 0;

  constructor(
    private readonly peers: readonly string[],
    private readonly maxEvents: number,
    private readonly maxBytes: number = Number.POSITIVE_INFINITY,
    private readonly onDropped: (peer: string, events: number) => void = () => {},
  ) {
    for (const peer of peers) this.queues.set(peer, { entries: new Denque(), events: 0, bytes: 0 });
  }

  add(wires: readonly string[]): void {
    if (wires.length === 0) return;
    const id = `${this.next++}-0`;
    const joined = wires.join(',');
    for (const peer of this.peers) {
      const queue = this.queues.get(peer) as { entries: Denque<OutboxEntry>; events: number; bytes: number };
      queue.entries.push({ id, joined, count: wires.length });
      queue.events += wires.length;
      queue.bytes += joined.length;
      let dropped = 0;
      while ((queue.events > this.maxEvents || queue.bytes > this.maxBytes) && queue.entries.length > 1) {
        const gone = queue.entries.shift() as OutboxEntry;
        queue.events -= gone.count;
        queue.bytes -= gone.joined.length;
        dropped += gone.count;
      }
      if (dropped > 0) {
        this.dropped += dropped;
        this.onDropped(peer, dropped);
      }
      this.waiters.get(peer)?.();
    }
  }

  async read(peer: string, after: string, count: number, blockMs: number): Promise<OutboxEntry[]> {
    const pick = () => {
      const entries = this.queues.get(peer)?.entries;
      if (!entries) return [];
      let lo = 0;
      let hi = entries.length;
      while (lo < hi) {
        const mid = (lo + hi) >>> 1;
        if (compareIds((entries.peekAt(mid) as OutboxEntry).id, after) > 0) hi = mid;
        else lo = mid + 1;
      }
      const found: OutboxEntry[] = [];
      for (let i = lo; i < entries.length && found.length < count; i++) found.push(entries.peekAt(i) as OutboxEntry);
      return found;
    };
    let found = pick();
    if (found.length > 0 || blockMs <= 0) return found;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, blockMs);
      this.waiters.set(peer, () => {
        clearTimeout(timer);
        resolve();
      });
    });
    this.waiters.delete(peer);
    found = pick();
    return found;
  }

  async ack(peer: string, ids: readonly string[]): Promise<void> {
    const gone = new Set(ids);
    const queue = this.queues.get(peer);
    if (!queue) return;
    const drop = (e: OutboxEntry) => {
      queue.events -= e.count;
      queue.bytes -= e.joined.length;
      gone.delete(e.id);
    };
    // What was sent is the oldest: it leaves from the front.
    for (let e = queue.entries.peekFront(); e && gone.has(e.id); e = queue.entries.peekFront()) {
      drop(queue.entries.shift() as OutboxEntry);
    }
    // Any other id (read from further on, or already dropped) costs one pass.
    if (gone.size === 0) return;
    queue.entries = new Denque(
      queue.entries.toArray().filter((e) => {
        if (!gone.has(e.id)) return true;
        drop(e);
        return false;
      }),
    );
  }

  async size(peer: string): Promise<number> {
    return this.queues.get(peer)?.events ?? 0;
  }

  async close(): Promise<void> {
    for (const wake of this.waiters.values()) wake();
  }
}

/** Stream ids `<ms>-<seq>` in order. */
export function compareIds(a: string, b: string): number {
  const [am = 0, as = 0] = a.split('-').map(Number);
  const [bm = 0, bs = 0] = b.split('-').map(Number);
  return am === bm ? as - bs : am - bm;
}
