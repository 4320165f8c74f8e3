import { type RedisClient, ReplicaWaiter } from '@ovation/shared/redis';
import type { Redis } from 'ioredis';

/*
 * Durability on Redis (REDIS_WAIT_REPLICAS > 0): whether replicas have what a master holds, asked
 * before anything of it leaves the region's store — a 202, a delivery to nodes, a read nodes pass
 * on to viewers, an outbox entry relayed to a peer region.
 *
 *   command for slot s ──goes out on──▶ connectionOf(s) (the slot map now)   ← remembered: sentTo
 *   its reply ─▶ written(s, sentTo): still that slot's master? then WAIT on sentTo
 *                soFar(s, sentTo):   the same, after a small write on sentTo
 *
 * Why sentTo, and why again after the reply: a master its replica replaced while it was stopped
 * runs writes for a moment after it resumes, before it hears so, and drops them when it rejoins as
 * a replica. WAIT on whichever node is the master by then would confirm nothing of what ran on the
 * old one; a slot whose master changed meanwhile counts as unconfirmed (the caller answers 503 or
 * reads again). Why the small write: WAIT counts only what its own connection wrote, and what a
 * command found (a key another dispatcher wrote, history, an outbox entry) was written elsewhere —
 * the replication stream is ordered, so a replica that has the small write has everything before.
 */

/** How long the small write that precedes a confirmation lives. */
const FENCE_TTL_MS = 60_000;
/** How long `later` goes on asking about a write that was not confirmed in time. */
const LATER_MS = 5000;

export interface Durability {
  /** Replicas that must confirm (Redis WAIT); 0: no confirmation. */
  waitReplicas: number;
  waitTimeoutMs: number;
}

export class ReplicaConfirmations {
  private readonly waiter: ReplicaWaiter;

  constructor(
    redis: RedisClient,
    /** The key of the small write for a slot (a key of that slot; one server: slot -1). */
    private readonly fenceKey: (slot: number) => string,
    private readonly durability: Durability,
  ) {
    this.waiter = new ReplicaWaiter(redis, durability.waitReplicas, durability.waitTimeoutMs);
  }

  /** The connection a command for `slot` (-1 on one server) goes out on now. */
  connectionOf(slot: number): Redis | undefined {
    return this.waiter.connectionOf(slot);
  }

  /** Whether the replicas have what was written on `sentTo`, still the slot's master. */
  async written(slot: number, sentTo: Redis | undefined): Promise<boolean> {
    if (!sentTo || this.connectionOf(slot) !== sentTo) return false;
    const acked = await this.waiter.waitOn(sentTo).catch(() => 0);
    return acked >= this.durability.waitReplicas;
  }

  /**
   * After a write on `sentTo` was not confirmed in time: whether the replicas get it within
   * LATER_MS while `sentTo` stays the slot's master (one that was replaced never confirms).
   */
  async later(slot: number, sentTo: Redis | undefined): Promise<boolean> {
    const deadline = Date.now() + LATER_MS;
    while (Date.now() < deadline && sentTo && this.connectionOf(slot) === sentTo) {
      if (await this.written(slot, sentTo)) return true;
    }
    return false;
  }

  /** Whether the replicas have everything `sentTo`, still the slot's master, holds so far. */
  async soFar(slot: number, sentTo: Redis | undefined): Promise<boolean> {
    if (!sentTo || this.connectionOf(slot) !== sentTo) return false;
    try {
      // On that very connection: a node that is no longer the slot's master refuses it (MOVED).
      await sentTo.set(this.fenceKey(slot), '1', 'PX', FENCE_TTL_MS);
    } catch {
      return false;
    }
    return this.written(slot, sentTo);
  }

  /**
   * Of slots read on the connections remembered for them, those whose master holds nothing the
   * replicas lack: one confirmation per master covers every slot of it read before.
   */
  async slotsHeld(reads: ReadonlyArray<{ slot: number; sentTo: Redis | undefined }>): Promise<Set<number>> {
    const perMaster = new Map<Redis | undefined, number[]>();
    for (const { slot, sentTo } of reads) {
      const slots = perMaster.get(sentTo);
      if (slots) slots.push(slot);
      else perMaster.set(sentTo, [slot]);
    }
    const held = new Set<number>();
    await Promise.all(
      [...perMaster].map(async ([sentTo, slots]) => {
        if (!(await this.soFar(slots[0] as number, sentTo))) return;
        for (const slot of slots) if (this.connectionOf(slot) === sentTo) held.add(slot);
      }),
    );
    return held;
  }
}

/** Confirmations as `durability` asks: none when it asks for no replica. */
export function replicaConfirmations(
  redis: RedisClient,
  fenceKey: (slot: number) => string,
  durability: Durability,
): ReplicaConfirmations | undefined {
  return durability.waitReplicas > 0 ? new ReplicaConfirmations(redis, fenceKey, durability) : undefined;
}
