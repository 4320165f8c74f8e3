import { NodeAckSchema, type TNodeHeartbeat, type TNodeTopics } from '@ovation/shared';
import type { FastifyBaseLogger } from 'fastify';
import type { TopicTable } from './connections/topic-table.js';
import type { DispatcherClient } from './dispatcher-client.js';
import type { LatencyCollector } from './latency/collector.js';

/*
 * The node's registration with the dispatcher tier, over one serialized channel:
 *
 *   first viewer of a topic / last one left ──▶ POST /internal/nodes/topics  {add, remove}
 *   every NODE_HEARTBEAT_MS                  ──▶ POST /internal/nodes/heartbeat {counts}
 *
 * Calls go one at a time, so the dispatcher sees this node's changes in order. The heartbeat is
 * the node's full state, which re-registers every topic after a dispatcher or Redis restarts
 * empty. Calls go through the DispatcherClient (any of DISPATCHER_URLS will do).
 */
export class DispatcherLink {
  private readonly dirty = new Set<string>();
  /** Topics with a sync pending or in flight → when it is done. */
  private readonly syncing = new Map<string, Promise<void>>();
  private waiters: Array<() => void> = [];
  private heartbeatDue = false;
  private pumping: Promise<void> | undefined;
  private stopped = false;
  private timer: NodeJS.Timeout | undefined;
  private lastOkAt = 0;
  private inOutage = false;

  constructor(
    private readonly deps: {
      client: DispatcherClient;
      nodeId: string;
      publicUrl: () => string;
      table: TopicTable;
      collector: LatencyCollector;
      heartbeatMs: number;
      log: FastifyBaseLogger;
    },
  ) {}

  start(): void {
    this.heartbeatDue = true;
    this.pump();
    this.timer = setInterval(() => {
      this.heartbeatDue = true;
      this.pump();
    }, this.deps.heartbeatMs);
    this.timer.unref();
  }

  /** Healthy while the last successful call is recent (within three heartbeats). */
  get healthy(): boolean {
    return Date.now() - this.lastOkAt < this.deps.heartbeatMs * 3;
  }

  /**
   * Topics whose local presence changed; resolves once a sync carrying them has been attempted.
   * (A failed attempt resolves too: the next heartbeat carries the node's full state anyway.)
   */
  sync(topics: readonly string[]): Promise<void> {
    if (topics.length === 0) return Promise.resolve();
    for (const topic of topics) this.dirty.add(topic);
    const done = new Promise<void>((resolve) => this.waiters.push(resolve));
    for (const topic of topics) this.syncing.set(topic, done);
    void done.then(() => {
      for (const topic of topics) if (this.syncing.get(topic) === done) this.syncing.delete(topic);
    });
    this.pump();
    return done;
  }

  /**
   * Resolves once no sync of these topics is pending: a viewer joining a topic whose first viewer
   * is still being registered must not read its catch-up before the registration is done (the
   * events in between would reach neither the catch-up nor this node).
   */
  registered(topics: readonly string[]): Promise<void> {
    const pending = topics.map((t) => this.syncing.get(t)).filter((p) => p !== undefined);
    return pending.length === 0 ? Promise.resolve() : Promise.all(pending).then(() => {});
  }

  /**
   * Stops heartbeating, lets pending topic changes go out (a draining node has just emptied its
   * table, so that unregisters all its topics), then closes the connections.
   */
  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.heartbeatDue = false;
    this.stopped = true;
    this.pump();
    await this.pumping;
  }

  private pump(): void {
    if (this.pumping) return;
    this.pumping = (async () => {
      try {
        while (this.dirty.size > 0 || (this.heartbeatDue && !this.stopped)) {
          if (this.dirty.size > 0) await this.flushTopics();
          else await this.flushHeartbeat();
        }
      } finally {
        this.pumping = undefined;
      }
    })();
  }

  private async flushTopics(): Promise<void> {
    const topics = [...this.dirty];
    const waiters = this.waiters;
    this.dirty.clear();
    this.waiters = [];
    // Decide from the table as it is now, so a join-then-leave before the flush nets out.
    const add = topics.filter((t) => this.deps.table.has(t));
    const remove = topics.filter((t) => !this.deps.table.has(t));
    const body: TNodeTopics = { ...this.identity(), add, remove };
    try {
      await this.post('/internal/nodes/topics', body);
    } catch (error) {
      this.deps.log.warn({ err: error }, 'topic registration failed; the next heartbeat retries');
    } finally {
      for (const resolve of waiters) resolve();
    }
  }

  private async flushHeartbeat(): Promise<void> {
    this.heartbeatDue = false;
    const latency = this.deps.collector.drain();
    const body: TNodeHeartbeat = {
      ...this.identity(),
      counts: this.deps.table.counts(),
      ...(latency ? { latency } : {}),
    };
    try {
      await this.post('/internal/nodes/heartbeat', body);
      if (this.inOutage) this.deps.log.info('dispatcher tier reachable again; node re-registered');
      this.inOutage = false;
    } catch (error) {
      // One line per outage, not one per heartbeat.
      if (latency) this.deps.collector.restore(latency);
      if (!this.inOutage) {
        this.deps.log.warn({ err: (error as Error).message }, 'dispatcher tier unreachable; retrying every heartbeat');
      }
      this.inOutage = true;
    }
  }

  private identity() {
    return { nodeId: this.deps.nodeId, url: this.deps.publicUrl() };
  }

  private async post(path: string, body: unknown): Promise<void> {
    await this.deps.client.post(path, body, NodeAckSchema);
    this.lastOkAt = Date.now();
  }
}
