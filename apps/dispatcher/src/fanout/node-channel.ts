import type { Link, SpanContext } from '@opentelemetry/api';
import { Backoff, inSpan, rootContext, SpanKind, tracingOn, withTraceHeaders } from '@ovation/shared/server';
import { Pool } from 'undici';
import type { DispatcherMetrics } from '../metrics.js';

/*
 * One channel per realtime node: a persistent keep-alive connection pool and a queue of
 * pre-serialized events.
 *
 *   publish ──enqueue──▶ [queue] ──one POST /internal/deliver in flight──▶ node
 *                           ▲                 │ failed (timeout, reset, refused, 5xx)
 *                           └── same batch again, after a backoff, while the node is alive
 *
 * While a batch is in flight new events accumulate, so under load each POST carries many events
 * (one request per node per round trip) and events reach a node in the order they were accepted.
 * A batch that fails is sent again — deliveries are idempotent on the node (each event's log
 * position is taken once) — until it goes through or the node's liveness has expired (it left:
 * its viewers resume elsewhere from history, or get a snapshot when it comes back). Nothing is
 * dropped for a node that is still registered, so a transient failure cannot cost a like. A batch
 * the node refuses as such (400, 413: it would refuse it forever) is halved until the event it
 * refuses goes alone, and that one is dropped and counted: one bad event cannot hold a node's
 * queue, and with it every publish to its topics, for good.
 *
 * Traced (tracing on), each POST is a `deliver` span of its own trace, linked to the spans of the
 * publishes its events came from, its `traceparent` continued by the node.
 */

/** Events one POST may carry; a longer queue is sent in several rounds. */
const MAX_BATCH_EVENTS = 5000;
/** …and bytes (the node takes bodies up to 16 MiB). */
const MAX_BATCH_BYTES = 4 * 1024 * 1024;
/**
 * Events queued for one node beyond which publishes for its topics are refused with 503 (the
 * publisher retries later): a node that cannot keep up slows publishers down instead of growing
 * this process's memory or losing accepted events.
 */
export const MAX_QUEUED_EVENTS = 20_000;
const REQUEST_TIMEOUT_MS = 2000;
/** Publishes a delivery span links to at most (OpenTelemetry's default bound on links). */
const MAX_TRACE_LINKS = 128;
/** A failed batch goes again after 25 ms, doubled up to 1 s, half-jittered. */
const RETRY_BACKOFF = { baseMs: 25, maxMs: 1000, jitter: 'half' } as const;

export class NodeChannel {
  private readonly pool: Pool;
  private queue: string[] = [];
  private inFlight = false;
  /** Events of the batch in flight (they count towards the bound until they are through). */
  private sending = 0;
  private closed = false;
  /** One per channel, not per flush: flushes start on the hot path. */
  private readonly backoff: Backoff;
  /** Tracing on: the span of the publish each queued event came from, until it is delivered. */
  private readonly traced = new Map<string, SpanContext>();
  lastUsedAt = Date.now();

  constructor(
    readonly nodeId: string,
    readonly url: string,
    private readonly deps: {
      token: string;
      metrics: DispatcherMetrics;
      /** Whether the node is still alive (registered): deliveries are retried only then. */
      alive: (nodeId: string) => Promise<boolean>;
      /** The channel gave up on its node (it left); its queue was dropped. */
      onGone: (channel: NodeChannel) => void;
      random?: () => number;
    },
  ) {
    this.backoff = new Backoff({ ...RETRY_BACKOFF, ...(deps.random ? { random: deps.random } : {}) });
    this.pool = new Pool(url, {
      connections: 1,
      pipelining: 1,
      keepAliveTimeout: 30_000,
      headersTimeout: REQUEST_TIMEOUT_MS,
      bodyTimeout: REQUEST_TIMEOUT_MS,
    });
  }

  /** Queues one event, already JSON-encoded as a WireEvent; `publish`: its publish's span (traced). */
  enqueue(encodedEvent: string, publish?: SpanContext): void {
    if (this.closed) return;
    this.lastUsedAt = Date.now();
    this.queue.push(encodedEvent);
    if (publish) this.traced.set(encodedEvent, publish);
    if (!this.inFlight) void this.flush();
  }

  /** True when the queue is too long to accept more (see MAX_QUEUED_EVENTS). */
  get congested(): boolean {
    return this.queue.length + this.sending >= MAX_QUEUED_EVENTS;
  }

  /** True when nothing is queued or in flight. */
  get idle(): boolean {
    return !this.inFlight && this.queue.length === 0;
  }

  /** Events waiting (the batch in flight not included). */
  get queued(): number {
    return this.queue.length;
  }

  private async flush(): Promise<void> {
    this.inFlight = true;
    // Each flush starts with no failure behind it.
    this.backoff.reset();
    /** Events per batch: halved while the node refuses batches as such, back to the full size after. */
    let limit = MAX_BATCH_EVENTS;
    try {
      while (this.queue.length > 0 && !this.closed) {
        const batch = this.take(limit);
        this.sending = batch.length;
        const outcome = await this.send(batch);
        this.sending = 0;
        if (outcome === 'ok') {
          this.backoff.reset();
          limit = MAX_BATCH_EVENTS;
          continue;
        }
        if (outcome === 'refused') {
          if (batch.length === 1) {
            this.deps.metrics.dropped.inc({ reason: 'refused_by_node' });
            continue;
          }
          limit = Math.ceil(batch.length / 2);
          this.queue = batch.concat(this.queue);
          continue;
        }
        // Back in front, in order.
        this.queue = batch.concat(this.queue);
        const delay = this.backoff.next();
        if (!(await this.deps.alive(this.nodeId).catch(() => true))) {
          this.giveUp();
          return;
        }
        this.deps.metrics.nodeBatches.inc({ outcome: 'retried' });
        await new Promise((resolve) => setTimeout(resolve, delay));
      }
    } finally {
      this.inFlight = false;
    }
  }

  /**
   * The next batch, from the front of the queue: at most `limit` events and MAX_BATCH_BYTES (at
   * least one). The whole queue when it fits (no copy); new events meanwhile go to a fresh array.
   */
  private take(limit: number): string[] {
    let count = 0;
    let bytes = 0;
    while (count < this.queue.length && count < limit) {
      bytes += (this.queue[count] as string).length;
      if (count > 0 && bytes > MAX_BATCH_BYTES) break;
      count++;
    }
    if (count === this.queue.length) {
      const all = this.queue;
      this.queue = [];
      return all;
    }
    const batch = this.queue.slice(0, count);
    this.queue = this.queue.slice(count);
    return batch;
  }

  /** `refused`: the node refused the batch as such (400, 413), which sending it again cannot change. */
  private async send(batch: string[]): Promise<'ok' | 'failed' | 'refused'> {
    if (!tracingOn()) return this.post(batch, {});
    const links: Link[] = [];
    const seen = new Set<string>();
    for (const event of batch) {
      const publish = this.traced.get(event);
      if (!publish || seen.has(publish.spanId) || links.length >= MAX_TRACE_LINKS) continue;
      seen.add(publish.spanId);
      links.push({ context: publish });
    }
    const outcome = await inSpan('deliver', async () => this.post(batch, withTraceHeaders({})), {
      kind: SpanKind.CLIENT,
      parent: rootContext,
      links,
      attributes: { 'ovation.node': this.nodeId, 'ovation.events': batch.length },
    });
    // Through, or the one event a refusal drops: done with. A refused batch goes again in halves.
    if (outcome === 'ok' || (outcome === 'refused' && batch.length === 1)) {
      for (const event of batch) this.traced.delete(event);
    }
    return outcome;
  }

  private async post(batch: string[], traceHeaders: Record<string, string>): Promise<'ok' | 'failed' | 'refused'> {
    // The events are already encoded: the body is assembled by concatenation, not re-serialized.
    const body = `{"events":[${batch.join(',')}]}`;
    try {
      const response = await this.pool.request({
        path: '/internal/deliver',
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${this.deps.token}`, ...traceHeaders },
        body,
      });
      await response.body.dump();
      if (response.statusCode === 400 || response.statusCode === 413) {
        this.deps.metrics.nodeBatches.inc({ outcome: 'refused' });
        return 'refused';
      }
      if (response.statusCode >= 300) throw new Error(`node answered ${response.statusCode}`);
      this.deps.metrics.nodeBatches.inc({ outcome: 'ok' });
      this.deps.metrics.nodeDeliveries.inc(batch.length);
      return 'ok';
    } catch {
      this.deps.metrics.nodeBatches.inc({ outcome: 'failed' });
      return 'failed';
    }
  }

  /** The node left the registry: what is queued for it can never be delivered. */
  private giveUp(): void {
    this.deps.metrics.dropped.inc({ reason: 'node_left' }, this.queue.length);
    this.queue = [];
    this.traced.clear();
    this.closed = true;
    this.deps.onGone(this);
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.pool.close();
  }
}

/** The channels of every node this dispatcher has sent to; idle ones and those of departed nodes are closed. */
export class NodeChannels {
  private readonly channels = new Map<string, NodeChannel>();

  constructor(
    private readonly token: string,
    private readonly metrics: DispatcherMetrics,
    private readonly alive: (nodeId: string) => Promise<boolean>,
  ) {}

  get(nodeId: string, url: string): NodeChannel {
    let channel = this.channels.get(nodeId);
    if (channel && channel.url !== url) {
      // The node moved (a new address): what was queued for the old one cannot reach it.
      this.metrics.dropped.inc({ reason: 'node_moved' }, channel.queued);
      void channel.close();
      channel = undefined;
    }
    if (!channel) {
      channel = new NodeChannel(nodeId, url, {
        token: this.token,
        metrics: this.metrics,
        alive: this.alive,
        onGone: (gone) => {
          if (this.channels.get(gone.nodeId) === gone) this.channels.delete(gone.nodeId);
          void gone.close();
        },
      });
      this.channels.set(nodeId, channel);
    }
    return channel;
  }

  /** The channel of a node, if this dispatcher has one (no channel is made). */
  find(nodeId: string): NodeChannel | undefined {
    return this.channels.get(nodeId);
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
