import type { FastifyBaseLogger } from 'fastify';
import type { Publisher } from './fanout/publisher.js';
import { PeriodicDuty } from './periodic-duty.js';
import type { SubscriptionRegistry } from './registry/registry.js';

/*
 * Every interval, one dispatcher of the region (elected through the registry) sums each topic's
 * viewers over the region's live nodes, tells the peer regions (`pushCounts`), adds what the peers
 * last reported, and publishes a `viewers` event with the global count for each topic with local
 * subscribers whose count changed since the last one it published. A new holder of the duty
 * starts from an empty memory and so republishes every count once, a no-op for viewers.
 *
 * What viewers are shown is the count the topic's log holds (its last `viewers` event, which
 * snapshots and resumes repeat), so the memory of what was published must never be ahead of the
 * log. A publish that fails may still have landed, in part (one shard's topics accepted, another's
 * refused) or later (an accept a replica confirms after the 503): its counts are forgotten, and go
 * out again next round, above whatever landed. And what the log holds is checked, CHECK_PER_ROUND
 * topics a round in turn (`shown`), against what was published: a count put there by a holder of
 * the duty that was paused past its lease, or one reordered behind a stalled Redis, is published
 * again.
 *
 * After the store lost its data, nothing is counted while the nodes sync again (`paused`: the
 * registry holds part of them), and the counts published before are published again — but at
 * most REPUBLISH_PER_ROUND of them a round: each lands in a log made again, so its viewers get a
 * resync and a snapshot read, and 100,000 topics at once would flood the nodes and the tier.
 */

/** Unchanged counts published again per round after a store loss (changed ones always go). */
const REPUBLISH_PER_ROUND = 2000;
/** Topics whose log is read per round to check it holds the count published (100,000 in 100 s). */
export const CHECK_PER_ROUND = 1000;

export class ViewerCounter extends PeriodicDuty {
  private lastPublished = new Map<string, number>();
  /** Topics whose count a store loss erased from their log: published again, a few per round. */
  private owed = new Set<string>();
  /** Topics still to be checked against their log in this pass over them (`shown`). */
  private toCheck: string[] = [];

  constructor(
    private readonly deps: {
      registry: SubscriptionRegistry;
      publisher: Publisher;
      /** Sends this region's counts to the peer regions (none: a single region). */
      pushCounts?: (counts: ReadonlyMap<string, number>, ttlMs: number) => Promise<void>;
      holderId: string;
      /** True while the registry is only partly there (a store that lost its data, being synced). */
      paused?: () => Promise<boolean>;
      /**
       * The count each topic's log holds now (none: undefined), what its viewers were last given;
       * a topic it could not read is left out (not checked this time).
       */
      shown?: (topics: readonly string[]) => Promise<ReadonlyMap<string, number | undefined>>;
      intervalMs: number;
      log: FastifyBaseLogger;
    },
  ) {
    super({ name: 'viewer-counts', holderId: deps.holderId, intervalMs: deps.intervalMs, duties: deps.registry });
  }

  /**
   * The store lost its data: the topic logs no longer hold the counts published so far, so every
   * count is published again, over the next rounds.
   */
  forget(): void {
    for (const topic of this.lastPublished.keys()) this.owed.add(topic);
  }

  protected async round(): Promise<void> {
    try {
      if (await this.deps.paused?.()) return;
      const { registry, publisher, holderId, intervalMs } = this.deps;
      if (!(await registry.claimDuty('viewer-counts', holderId, intervalMs * 3))) {
        this.lastPublished.clear();
        return;
      }
      const local = await registry.viewerCounts();
      const { pushCounts } = this.deps;
      let counts = local;
      if (pushCounts) {
        pushCounts(local, intervalMs * 3).catch(() => {});
        counts = new Map(local);
        for (const remote of (await registry.regionCounts()).values()) {
          for (const topic of local.keys()) counts.set(topic, (counts.get(topic) ?? 0) + (remote.get(topic) ?? 0));
        }
      }
      const changed = new Map<string, number>();
      for (const [topic, count] of counts) {
        if (this.lastPublished.get(topic) !== count) changed.set(topic, count);
      }
      let republished = 0;
      for (const topic of this.owed) {
        if (republished >= REPUBLISH_PER_ROUND) break;
        const count = counts.get(topic);
        if (count === undefined) this.owed.delete(topic);
        else if (!changed.has(topic)) {
          changed.set(topic, count);
          republished++;
        }
      }
      for (const [topic, count] of await this.notShown(counts, changed)) changed.set(topic, count);
      // Until its publish is accepted, a count may or may not be in its log: not remembered.
      for (const topic of changed.keys()) this.lastPublished.delete(topic);
      const events = [...changed].map(([topic, count]) => ({ topic, type: 'viewers', data: { count } }));
      for (let i = 0; i < events.length; i += 1000) {
        const batch = events.slice(i, i + 1000);
        await publisher.publish(batch);
        for (const { topic, data } of batch) {
          this.lastPublished.set(topic, data.count);
          this.owed.delete(topic);
        }
      }
      for (const topic of this.lastPublished.keys()) if (!counts.has(topic)) this.lastPublished.delete(topic);
    } catch (error) {
      this.deps.log.warn({ err: error }, 'viewer count round failed');
    }
  }

  /**
   * Of the topics whose count was published and has not changed, the next CHECK_PER_ROUND (a pass
   * over them all, then another) whose log holds another count: with the count to publish again.
   */
  private async notShown(
    counts: ReadonlyMap<string, number>,
    changed: ReadonlyMap<string, number>,
  ): Promise<Map<string, number>> {
    const wrong = new Map<string, number>();
    // After a store loss every log is known to be wrong: `owed` republishes, at its own pace.
    if (!this.deps.shown || this.owed.size > 0) return wrong;
    if (this.toCheck.length === 0) this.toCheck = [...this.lastPublished.keys()];
    const due: string[] = [];
    while (due.length < CHECK_PER_ROUND && this.toCheck.length > 0) {
      const topic = this.toCheck.pop() as string;
      if (counts.has(topic) && !changed.has(topic) && this.lastPublished.get(topic) === counts.get(topic)) {
        due.push(topic);
      }
    }
    if (due.length === 0) return wrong;
    // A check that fails (its store out of reach) must not cost the round: changed counts still go.
    const held = await this.deps.shown(due).catch(() => new Map<string, number | undefined>());
    for (const topic of due) {
      const count = counts.get(topic) as number;
      if (held.has(topic) && held.get(topic) !== count) wrong.set(topic, count);
    }
    return wrong;
  }
}
