import { NodeAckSchema, type TNodeHeartbeat, type TNodeTopics } from '@ovation/shared';
import type { FastifyBaseLogger } from 'fastify';
import { Agent, request } from 'undici';
import type { TopicTable } from './connections/topic-table.js';
import type { LatencyCollector } from './latency/collector.js';

const REQUEST_TIMEOUT_MS = 2000;

/*
 * The node's registration with the dispatcher tier, over one serialized channel:
 *
 *   first viewer of a topic / last one left ──▶ POST /internal/nodes/topics  {add, remove}
 *   every NODE_HEARTBEAT_MS                  ──▶ POST /internal/nodes/heartbeat {counts}
 *
 * Calls go one at a time, so the dispatcher sees this node's changes in order. The heartbeat is
 * the node's full state, which re-registers every topic after a dispatcher or Redis restarts
 * empty. Any of DISPATCHER_URLS will do: a failed call moves on to the next.
 */
export class DispatcherLink {
  private readonly agent = new Agent({ keepAliveTimeout: 30_000, connections: 4 });
  private readonly dirty = new Set<string>();
  private waiters: Array<() => void> = [];
  private heartbeatDue = false;
  private pumping: Promise<void> | undefined;
  private stopped = false;
  private timer: NodeJS.Timeout | undefined;
  private current = 0;
  private lastOkAt = 0;
  private inOutage = false;
  failures = 0;

  constructor(
    private readonly deps: {
      urls: readonly string[];
      token: string;
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
    this.pump();
    return done;
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
    await this.agent.close();
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

  /** POSTs to the current dispatcher, moving through the list on failure. */
  private async post(path: string, body: unknown): Promise<void> {
    const { urls, token } = this.deps;
    let lastError: unknown;
    for (let attempt = 0; attempt < urls.length; attempt++) {
      const base = urls[this.current % urls.length];
      try {
        const response = await request(`${base}${path}`, {
          method: 'POST',
          dispatcher: this.agent,
          headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
          body: JSON.stringify(body),
          headersTimeout: REQUEST_TIMEOUT_MS,
          bodyTimeout: REQUEST_TIMEOUT_MS,
        });
        const reply: unknown = await response.body.json().catch(() => undefined);
        if (response.statusCode !== 200) throw new Error(`${base}${path} answered ${response.statusCode}`);
        NodeAckSchema.parse(reply);
        this.lastOkAt = Date.now();
        return;
      } catch (error) {
        lastError = error;
        this.failures++;
        this.current = (this.current + 1) % urls.length;
      }
    }
    throw lastError;
  }
}
