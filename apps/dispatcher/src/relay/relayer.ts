import { Agent, request } from 'undici';
import type { DispatcherMetrics } from '../metrics.js';
import type { RelayOutbox } from './outbox.js';

/*
 * Relay to peer regions: per peer, one relayer at a time in the region (a duty any dispatcher may
 * hold) takes what waits in that peer's outbox (outbox.ts), in order, and posts it:
 *
 *   outbox ──read──▶ relayer ──POST /internal/relay (any of the peer's URLs)──▶ peer ──200──▶ ack
 *                        │ failed: the same entries again after a backoff (full jitter)
 *
 * A relayer that dies or stops mid-way loses its duty; the next one starts from what is still in
 * the outbox, so it may send an entry again: the peer accepts each event once (it dedupes by
 * origin id). Requests time out well within the duty's lease, so two relayers never overlap
 * unless one was stopped (SIGSTOP) for longer than the lease.
 */

/** Events per relay request. */
const MAX_BATCH = 1000;
const REQUEST_TIMEOUT_MS = 2000;
/** The relay duty's lease: renewed before every request, longer than a request can take. */
const DUTY_TTL_MS = 5000;
const READ_BLOCK_MS = 500;
const BACKOFF_BASE_MS = 100;
const BACKOFF_MAX_MS = 5000;

export interface Peer {
  region: string;
  urls: readonly string[];
}

export class OutboxRelayer {
  private running = false;
  private loop: Promise<void> | undefined;
  private current = 0;
  private failures = 0;
  private gaugedAt = 0;
  private wake: (() => void) | undefined;

  constructor(
    readonly peer: Peer,
    private readonly deps: {
      outbox: RelayOutbox;
      /** Takes or renews this peer's relay duty for `ttlMs`; true while this dispatcher holds it. */
      claim: (ttlMs: number) => Promise<boolean>;
      /** Gives the duty up (stopping: the next relayer need not wait for the lease to run out). */
      release: () => Promise<void>;
      token: string;
      agent: Agent;
      metrics: DispatcherMetrics;
      random?: () => number;
    },
  ) {}

  start(): void {
    this.running = true;
    this.loop = this.run();
  }

  async stop(): Promise<void> {
    this.running = false;
    this.wake?.();
    await this.loop;
    await this.deps.release().catch(() => {});
  }

  private async run(): Promise<void> {
    const { outbox, claim, metrics } = this.deps;
    const peer = this.peer.region;
    let after: string | undefined;
    while (this.running) {
      if (!(await claim(DUTY_TTL_MS).catch(() => false))) {
        after = undefined;
        await this.pause(1000);
        continue;
      }
      // A new holder starts from whatever is still in the outbox.
      after ??= '0';
      let entries: Awaited<ReturnType<RelayOutbox['read']>>;
      try {
        entries = await outbox.read(peer, after, 100, READ_BLOCK_MS);
      } catch {
        await this.pause(200);
        continue;
      }
      if (Date.now() - this.gaugedAt > 1000) {
        this.gaugedAt = Date.now();
        metrics.relayQueued.set({ peer }, await outbox.size(peer).catch(() => 0));
      }
      if (entries.length === 0) continue;
      const batch: typeof entries = [];
      let events = 0;
      for (const entry of entries) {
        if (batch.length > 0 && events + entry.count > MAX_BATCH) break;
        batch.push(entry);
        events += entry.count;
      }
      if (!this.running || !(await claim(DUTY_TTL_MS).catch(() => false))) continue;
      if (await this.send(batch.map((e) => e.joined).join(','))) {
        this.failures = 0;
        after = (batch.at(-1) as (typeof batch)[number]).id;
        metrics.relaySent.inc({ peer }, events);
        await outbox
          .ack(
            peer,
            batch.map((e) => e.id),
          )
          .catch(() => {});
        metrics.relayQueued.set({ peer }, await outbox.size(peer).catch(() => 0));
      } else {
        // Full jitter over an exponential cap, so recovering peers are not hit in lockstep.
        this.failures++;
        const cap = Math.min(BACKOFF_MAX_MS, BACKOFF_BASE_MS * 2 ** Math.min(10, this.failures - 1));
        await this.pause(Math.floor((this.deps.random ?? Math.random)() * cap));
      }
    }
  }

  private async send(joined: string): Promise<boolean> {
    const base = this.peer.urls[this.current % this.peer.urls.length];
    try {
      const response = await request(`${base}/internal/relay`, {
        method: 'POST',
        dispatcher: this.deps.agent,
        headers: { 'content-type': 'application/json', authorization: `Bearer ${this.deps.token}` },
        body: `{"events":[${joined}]}`,
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

  private pause(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, ms);
      this.wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }
}

/** Relays to every peer region, and exchanges viewer counts with them. */
export class Relay {
  readonly relayers: OutboxRelayer[];
  private readonly agent = new Agent({ keepAliveTimeout: 30_000, connections: 2 });

  constructor(
    peers: readonly Peer[],
    readonly outbox: RelayOutbox,
    deps: {
      token: string;
      metrics: DispatcherMetrics;
      claim: (peer: string, ttlMs: number) => Promise<boolean>;
      release: (peer: string) => Promise<void>;
    },
  ) {
    this.relayers = peers.map(
      (peer) =>
        new OutboxRelayer(peer, {
          outbox,
          claim: (ttlMs) => deps.claim(peer.region, ttlMs),
          release: () => deps.release(peer.region),
          token: deps.token,
          agent: this.agent,
          metrics: deps.metrics,
        }),
    );
  }

  start(): void {
    for (const relayer of this.relayers) relayer.start();
  }

  /** Events accepted here (the memory engine's outbox; the Redis one is written by the accept step). */
  enqueue(encodedEvents: readonly string[]): void {
    this.outbox.add(encodedEvents);
  }

  /** Tells every peer this region's viewers per topic (best effort: the next round repeats it). */
  async pushCounts(region: string, counts: ReadonlyMap<string, number>, ttlMs: number, token: string): Promise<void> {
    const body = JSON.stringify({ region, counts: Object.fromEntries(counts), ttlMs });
    await Promise.all(
      this.relayers.map(async ({ peer }) => {
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
    await Promise.all(this.relayers.map((r) => r.stop()));
    await this.outbox.close();
    await this.agent.close();
  }
}
