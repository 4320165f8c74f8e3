import { Agent, request } from 'undici';
import type { DispatcherMetrics } from '../metrics.js';

/*
 * Relay to one peer region:
 *
 *   accepted here ──enqueue──▶ [bounded queue] ──one POST /internal/relay in flight──▶ peer
 *                                                 (any of its URLs; failures back off)
 *
 * Enqueueing never waits: a slow or dead peer cannot slow local fan-out. While the peer cannot
 * take events the queue keeps the most recent `maxQueued` (older ones are dropped and counted);
 * it drains when the peer is back. Retries resend a batch the peer may have accepted already:
 * the peer keeps each event once (it dedupes by origin id).
 */

/** Events per relay request. */
const MAX_BATCH = 1000;
const REQUEST_TIMEOUT_MS = 5000;
const BACKOFF_BASE_MS = 100;
const BACKOFF_MAX_MS = 5000;

export interface Peer {
  region: string;
  urls: readonly string[];
}

export class RelayQueue {
  private queue: string[] = [];
  private sending = false;
  private retryTimer: NodeJS.Timeout | undefined;
  private failures = 0;
  private current = 0;
  private closed = false;

  constructor(
    readonly peer: Peer,
    private readonly deps: {
      token: string;
      agent: Agent;
      metrics: DispatcherMetrics;
      maxQueued: number;
      random?: () => number;
    },
  ) {}

  get size(): number {
    return this.queue.length;
  }

  enqueue(events: readonly string[]): void {
    if (this.closed || events.length === 0) return;
    for (const event of events) this.queue.push(event);
    this.trim();
    if (!this.sending && !this.retryTimer) void this.pump();
  }

  /** Keeps the most recent `maxQueued` events; the dropped ones are counted. */
  private trim(): void {
    const over = this.queue.length - this.deps.maxQueued;
    if (over > 0) {
      this.queue.splice(0, over);
      this.deps.metrics.relayDropped.inc({ peer: this.peer.region }, over);
    }
    this.deps.metrics.relayQueued.set({ peer: this.peer.region }, this.queue.length);
  }

  private async pump(): Promise<void> {
    this.sending = true;
    try {
      while (this.queue.length > 0 && !this.closed) {
        const batch = this.queue.splice(0, MAX_BATCH);
        if (!(await this.send(batch))) {
          // Back to the front, in order; the bound still holds (the oldest go first).
          this.queue.unshift(...batch);
          this.trim();
          this.scheduleRetry();
          return;
        }
        this.failures = 0;
        this.deps.metrics.relaySent.inc({ peer: this.peer.region }, batch.length);
        this.deps.metrics.relayQueued.set({ peer: this.peer.region }, this.queue.length);
      }
    } finally {
      this.sending = false;
    }
  }

  private async send(batch: readonly string[]): Promise<boolean> {
    const base = this.peer.urls[this.current % this.peer.urls.length];
    try {
      const response = await request(`${base}/internal/relay`, {
        method: 'POST',
        dispatcher: this.deps.agent,
        headers: { 'content-type': 'application/json', authorization: `Bearer ${this.deps.token}` },
        body: `{"events":[${batch.join(',')}]}`,
        headersTimeout: REQUEST_TIMEOUT_MS,
        bodyTimeout: REQUEST_TIMEOUT_MS,
      });
      await response.body.dump();
      if (response.statusCode === 200) return true;
      throw new Error(`peer answered ${response.statusCode}`);
    } catch {
      this.deps.metrics.relayFailures.inc({ peer: this.peer.region });
      this.current = (this.current + 1) % this.peer.urls.length;
      return false;
    }
  }

  /** Full jitter over an exponential cap, so recovering peers are not hit in lockstep. */
  private scheduleRetry(): void {
    this.failures++;
    const cap = Math.min(BACKOFF_MAX_MS, BACKOFF_BASE_MS * 2 ** Math.min(10, this.failures - 1));
    const delay = Math.floor((this.deps.random ?? Math.random)() * cap);
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      if (!this.sending) void this.pump();
    }, delay);
    this.retryTimer.unref();
  }

  close(): void {
    this.closed = true;
    clearTimeout(this.retryTimer);
  }
}

/** One queue per peer region; accepted events go to all of them. */
export class Relay {
  readonly queues: RelayQueue[];
  private readonly agent = new Agent({ keepAliveTimeout: 30_000, connections: 2 });

  constructor(peers: readonly Peer[], deps: { token: string; metrics: DispatcherMetrics; maxQueued: number }) {
    this.queues = peers.map((peer) => new RelayQueue(peer, { ...deps, agent: this.agent }));
  }

  enqueue(events: readonly string[]): void {
    for (const queue of this.queues) queue.enqueue(events);
  }

  /** Tells every peer this region's viewers per topic (best effort: the next round repeats it). */
  async pushCounts(region: string, counts: ReadonlyMap<string, number>, ttlMs: number, token: string): Promise<void> {
    const body = JSON.stringify({ region, counts: Object.fromEntries(counts), ttlMs });
    await Promise.all(
      this.queues.map(async ({ peer }) => {
        for (const base of peer.urls) {
          try {
            const response = await request(`${base}/internal/region-counts`, {
              method: 'POST',
              dispatcher: this.agent,
              headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
              body,
              headersTimeout: REQUEST_TIMEOUT_MS,
              bodyTimeout: REQUEST_TIMEOUT_MS,
            });
            await response.body.dump();
            if (response.statusCode === 200) return;
          } catch {}
        }
      }),
    );
  }

  async close(): Promise<void> {
    for (const queue of this.queues) queue.close();
    await this.agent.close();
  }
}
