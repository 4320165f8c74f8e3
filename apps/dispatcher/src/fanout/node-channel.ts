import { Pool } from 'undici';
import type { DispatcherMetrics } from '../metrics.js';

/*
 * One channel per realtime node: a persistent keep-alive connection pool and a queue of
 * pre-serialized events.
 *
 *   publish ──enqueue──▶ [queue] ──one POST /internal/deliver in flight──▶ node
 *
 * While a batch is in flight new events accumulate, so under load each POST carries many events
 * (one request per node per round trip) and events reach a node in the order they were accepted.
 */

/** Events one POST may carry; a longer queue is sent in several rounds. */
const MAX_BATCH_EVENTS = 5000;
/**
 * Events queued for one node beyond which publishes for its topics are refused with 503 (the
 * publisher retries later): a node that cannot keep up slows publishers down instead of growing
 * this process's memory or losing accepted events.
 */
export const MAX_QUEUED_EVENTS = 20_000;
const REQUEST_TIMEOUT_MS = 5000;

export class NodeChannel {
  private readonly pool: Pool;
  private queue: string[] = [];
  private inFlight = false;
  lastUsedAt = Date.now();

  constructor(
    readonly nodeId: string,
    readonly url: string,
    private readonly token: string,
    private readonly metrics: DispatcherMetrics,
  ) {
    this.pool = new Pool(url, {
      connections: 1,
      pipelining: 1,
      keepAliveTimeout: 30_000,
      headersTimeout: REQUEST_TIMEOUT_MS,
      bodyTimeout: REQUEST_TIMEOUT_MS,
    });
  }

  /** Queues one event, already JSON-encoded as a WireEvent. */
  enqueue(encodedEvent: string): void {
    this.lastUsedAt = Date.now();
    this.queue.push(encodedEvent);
    if (!this.inFlight) void this.flush();
  }

  /** True when the queue is too long to accept more (see MAX_QUEUED_EVENTS). */
  get congested(): boolean {
    return this.queue.length >= MAX_QUEUED_EVENTS;
  }

  /** True when nothing is queued or in flight. */
  get idle(): boolean {
    return !this.inFlight && this.queue.length === 0;
  }

  private async flush(): Promise<void> {
    this.inFlight = true;
    try {
      while (this.queue.length > 0) {
        const batch = this.queue.length <= MAX_BATCH_EVENTS ? this.queue : this.queue.slice(0, MAX_BATCH_EVENTS);
        this.queue = this.queue.length <= MAX_BATCH_EVENTS ? [] : this.queue.slice(MAX_BATCH_EVENTS);
        await this.send(batch);
      }
    } finally {
      this.inFlight = false;
    }
  }

  private async send(batch: string[]): Promise<void> {
    // The events are already encoded: the body is assembled by concatenation, not re-serialized.
    const body = `{"events":[${batch.join(',')}]}`;
    try {
      const response = await this.pool.request({
        path: '/internal/deliver',
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${this.token}` },
        body,
      });
      await response.body.dump();
      if (response.statusCode >= 300) throw new Error(`node answered ${response.statusCode}`);
      this.metrics.nodeBatches.inc({ outcome: 'ok' });
      this.metrics.nodeDeliveries.inc({ node: this.nodeId }, batch.length);
    } catch {
      // The node is unreachable or refused: it will miss its heartbeat and leave the registry.
      this.metrics.nodeBatches.inc({ outcome: 'failed' });
      this.metrics.dropped.inc({ reason: 'node_unreachable' }, batch.length);
    }
  }

  async close(): Promise<void> {
    await this.pool.close();
  }
}

/** The channels of every node this dispatcher has sent to; idle ones are closed. */
export class NodeChannels {
  private readonly channels = new Map<string, NodeChannel>();

  constructor(
    private readonly token: string,
    private readonly metrics: DispatcherMetrics,
  ) {}

  get(nodeId: string, url: string): NodeChannel {
    let channel = this.channels.get(nodeId);
    if (channel && channel.url !== url) {
      void channel.close();
      channel = undefined;
    }
    if (!channel) {
      channel = new NodeChannel(nodeId, url, this.token, this.metrics);
      this.channels.set(nodeId, channel);
    }
    return channel;
  }

  /** Closes channels unused for `idleMs` with nothing queued. */
  closeIdle(idleMs: number, now = Date.now()): void {
    for (const [nodeId, channel] of this.channels) {
      if (now - channel.lastUsedAt > idleMs && channel.idle) {
        this.channels.delete(nodeId);
        void channel.close();
      }
    }
  }

  async closeAll(): Promise<void> {
    const all = [...this.channels.values()];
    this.channels.clear();
    await Promise.all(all.map((c) => c.close()));
  }
}
