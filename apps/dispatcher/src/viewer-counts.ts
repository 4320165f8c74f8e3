import type { FastifyBaseLogger } from 'fastify';
import type { Publisher } from './fanout/publisher.js';
import type { SubscriptionRegistry } from './registry/registry.js';

/*
 * Every interval, one dispatcher (elected through the registry) sums each topic's viewers over
 * all live nodes and publishes a `viewers` event for each topic whose count changed since the
 * last one it published. A new holder of the duty starts from an empty memory and so republishes
 * every count once, which viewers take as a no-op.
 */
export class ViewerCounter {
  private lastPublished = new Map<string, number>();
  private timer: NodeJS.Timeout | undefined;
  private running = false;

  constructor(
    private readonly deps: {
      registry: SubscriptionRegistry;
      publisher: Publisher;
      holderId: string;
      intervalMs: number;
      log: FastifyBaseLogger;
    },
  ) {}

  start(): void {
    this.timer = setInterval(() => void this.tick(), this.deps.intervalMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  /** One round; exposed for tests. */
  async tick(): Promise<void> {
    if (this.running) return;
    this.running = true;
    try {
      const { registry, publisher, holderId, intervalMs } = this.deps;
      if (!(await registry.claimDuty('viewer-counts', holderId, intervalMs * 3))) {
        this.lastPublished.clear();
        return;
      }
      const counts = await registry.viewerCounts();
      const changed = [];
      for (const [topic, count] of counts) {
        if (this.lastPublished.get(topic) !== count) changed.push({ topic, type: 'viewers', data: { count } });
      }
      if (changed.length > 0) {
        for (let i = 0; i < changed.length; i += 1000) await publisher.publish(changed.slice(i, i + 1000));
      }
      this.lastPublished = counts;
    } catch (error) {
      this.deps.log.warn({ err: error }, 'viewer count round failed');
    } finally {
      this.running = false;
    }
  }
}
