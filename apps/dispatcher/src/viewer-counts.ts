import type { FastifyBaseLogger } from 'fastify';
import type { Publisher } from './fanout/publisher.js';
import type { SubscriptionRegistry } from './registry/registry.js';

/*
 * Every interval, one dispatcher of the region (elected through the registry) sums each topic's
 * viewers over the region's live nodes, tells the peer regions (`pushCounts`), adds what the peers
 * last reported, and publishes a `viewers` event with the global count for each topic with local
 * subscribers whose count changed since the last one it published. A new holder of the duty
 * starts from an empty memory and so republishes every count once, a no-op for viewers.
 *
 * After the store lost its data, nothing is counted while the nodes sync again (`paused`: the
 * registry holds part of them), and the counts published before are published again — but at
 * most REPUBLISH_PER_ROUND of them a round: each lands in a log made again, so its viewers get a
 * resync and a snapshot read, and 100,000 topics at once would flood the nodes and the tier.
 */

/** Unchanged counts published again per round after a store loss (changed ones always go). */
const REPUBLISH_PER_ROUND = 2000;

export class ViewerCounter {
  private lastPublished = new Map<string, number>();
  /** Topics whose count a store loss erased from their log: published again, a few per round. */
  private owed = new Set<string>();
  private timer: NodeJS.Timeout | undefined;
  private running = false;

  constructor(
    private readonly deps: {
      registry: SubscriptionRegistry;
      publisher: Publisher;
      /** Sends this region's counts to the peer regions (none: a single region). */
      pushCounts?: (counts: ReadonlyMap<string, number>, ttlMs: number) => Promise<void>;
      holderId: string;
      /** True while the registry is only partly there (a store that lost its data, being synced). */
      paused?: () => Promise<boolean>;
      intervalMs: number;
      log: FastifyBaseLogger;
    },
  ) {}

  start(): void {
    this.timer = setInterval(() => void this.tick(), this.deps.intervalMs);
    this.timer.unref();
  }

  /** Stops, and gives the duty up so that another dispatcher takes it at once. */
  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.deps.registry.releaseDuty('viewer-counts', this.deps.holderId).catch(() => {});
  }

  /**
   * The store lost its data: the topic logs no longer hold the counts published so far, so every
   * count is published again, over the next rounds.
   */
  forget(): void {
    for (const topic of this.lastPublished.keys()) this.owed.add(topic);
  }

  /** One round; exposed for tests. */
  async tick(): Promise<void> {
    if (this.running) return;
    this.running = true;
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
      const changed = [];
      for (const [topic, count] of counts) {
        if (this.lastPublished.get(topic) !== count) changed.push({ topic, type: 'viewers', data: { count } });
      }
      const republished: string[] = [];
      for (const topic of this.owed) {
        if (republished.length >= REPUBLISH_PER_ROUND) break;
        const count = counts.get(topic);
        if (count === undefined) this.owed.delete(topic);
        else if (this.lastPublished.get(topic) === count) republished.push(topic);
      }
      for (const topic of republished) changed.push({ topic, type: 'viewers', data: { count: counts.get(topic) } });
      if (changed.length > 0) {
        for (let i = 0; i < changed.length; i += 1000) await publisher.publish(changed.slice(i, i + 1000));
      }
      for (const { topic } of changed) this.owed.delete(topic);
      this.lastPublished = counts;
    } catch (error) {
      this.deps.log.warn({ err: error }, 'viewer count round failed');
    } finally {
      this.running = false;
    }
  }
}
