import type { TRegionPresence } from '@ovation/shared';
import { Backoff, Failover } from '@ovation/shared/server';
import Denque from 'denque';
import { Agent, request } from 'undici';
import type { DispatcherMetrics } from '../metrics.js';
import type { FreshDuty } from '../registry/registry.js';
import type { RelayOutbox } from './outbox.js';

/*
 * Relay to peer regions: per peer, one relayer at a time in the region (a duty any dispatcher may
 * hold) takes what waits in that peer's outbox (outbox.ts), in order, and posts it:
 *
 *   outbox ──reader: reads ahead──▶ pending (this process) ──sender──▶ POST /internal/relay ─▶ peer
 *                                                                 200: removed from the outbox
 *                                                                 failed: the same batch again,
 *                                                                 after a backoff (full jitter)
 *
 * The reader keeps reading while the sender waits for the peer (up to READ_AHEAD_EVENTS), so what
 * was accepted is in this process within a moment: if the region's Redis loses its data, what the
 * relayer holds still goes. A batch that failed is sent again from memory, not read again.
 *
 * The duty is a lease the keeper renews every second, apart from the sending. While the store is
 * out of reach the relayer keeps what it read; when the store answers again the holder from before
 * renews at once, and in a store that came back empty no other dispatcher may take the duty for
 * FRESH_STORE_WAIT_MS — so what the holder had read still goes, before anything accepted since.
 *
 * A relayer that dies or stops mid-way loses its duty; the next one starts from what is still in
 * the outbox, so it may send an entry again: the peer accepts each event once (it dedupes by
 * origin id). A request is only started with more than its timeout left on the lease, so two
 * relayers never overlap unless one was stopped (SIGSTOP) for longer than the lease.
 */

/** Events per relay request. */
const MAX_BATCH = 1000;
/** Events (and bytes) read from the outbox ahead of the peer taking them. */
const READ_AHEAD_EVENTS = 20_000;
const READ_AHEAD_BYTES = 16 * 1024 * 1024;
const REQUEST_TIMEOUT_MS = 2000;
/** The relay duty's lease, renewed every RENEW_MS. */
const DUTY_TTL_MS = 5000;
const RENEW_MS = 1000;
/**
 * In a store no relayer held the duty in yet (first start, or a store that came back empty), a
 * dispatcher other than the holder from before waits this long before taking the duty: the holder
 * from before renews within RENEW_MS of the store answering and keeps what it had read.
 */
const FRESH_STORE_WAIT_MS = 3 * RENEW_MS;
const READ_BLOCK_MS = 500;
/** A failed batch goes again after up to 100 ms, doubled up to 5 s, full jitter. */
const RETRY_BACKOFF = { baseMs: 100, maxMs: 5000, jitter: 'full' } as const;

export interface Peer {
  region: string;
  urls: readonly string[];
}

type Entry = Awaited<ReturnType<RelayOutbox['read']>>[number];

export class OutboxRelayer {
  private running = false;
  private loops: Promise<void> | undefined;
  /** The peer's URLs: a failed request moves to the next one. */
  private readonly urls: Failover;
  private readonly backoff: Backoff;
  private gaugedAt = 0;
  /** Holding the duty (the keeper says), and until when at least (asked at the last renewal + lease). */
  private holding = false;
  private leaseUntil = 0;
  /** Changes whenever the duty is lost: what the reader or sender were doing is no longer theirs. */
  private generation = 0;
  /**
   * Read from the outbox, not taken by the peer yet; the id of the last one read. A deque: taking a
   * batch off the front costs its entries, not a copy of all that was read ahead (20,000 events).
   */
  private readonly pending = new Denque<Entry>();
  private pendingEvents = 0;
  private pendingBytes = 0;
  private after = '0';
  /** Pauses in progress, woken when stopping (or, the sender's, when entries arrive). */
  private readonly wakers = new Set<() => void>();
  private wakeSender: (() => void) | undefined;

  constructor(
    readonly peer: Peer,
    private readonly deps: {
      outbox: RelayOutbox;
      /**
       * Takes or renews this peer's relay duty for `ttlMs`; true while this dispatcher holds it
       * (SubscriptionRegistry.claimDuty, with its `fresh` rule).
       */
      claim: (ttlMs: number, fresh: FreshDuty) => Promise<boolean>;
      /** Gives the duty up (stopping: the next relayer need not wait for the lease to run out). */
      release: () => Promise<void>;
      token: string;
      agent: Agent;
      metrics: DispatcherMetrics;
      random?: () => number;
      /** Read-ahead bound in events (tests); READ_AHEAD_EVENTS by default. */
      readAhead?: number;
    },
  ) {
    this.urls = new Failover(peer.urls, { attempts: 1 });
    this.backoff = new Backoff({ ...RETRY_BACKOFF, ...(deps.random ? { random: deps.random } : {}) });
  }

  start(): void {
    this.running = true;
    this.loops = Promise.all([this.keeper(), this.sender(), this.reader()]).then(() => {});
  }

  async stop(): Promise<void> {
    this.running = false;
    for (const wake of this.wakers) wake();
    await this.loops;
    await this.deps.release().catch(() => {});
  }

  /** A request may start: this dispatcher holds the duty, for longer than a request can take. */
  private get leased(): boolean {
    return this.holding && this.leaseUntil - Date.now() > REQUEST_TIMEOUT_MS;
  }

  /** Keeps the duty: takes it when free, renews it, and notices when another dispatcher has it. */
  private async keeper(): Promise<void> {
    while (this.running) {
      // The holder from before keeps its place in a store that lost its data (see FRESH_STORE_WAIT_MS).
      const fresh = { waitMs: FRESH_STORE_WAIT_MS, priority: this.holding };
      const asked = Date.now();
      const claimed = await this.deps.claim(DUTY_TTL_MS, fresh).catch(() => undefined);
      if (claimed === true) {
        this.holding = true;
        this.leaseUntil = asked + DUTY_TTL_MS;
        this.wakeSender?.();
      } else if (claimed === false && this.holding) {
        // Another dispatcher is the relayer: it starts from what is in the outbox.
        this.holding = false;
        this.generation++;
        this.pending.clear();
        this.pendingEvents = 0;
        this.pendingBytes = 0;
        this.after = '0';
      }
      // The store out of reach (undefined): keep what was read, the store may come back without it.
      await this.pause(claimed === undefined ? RENEW_MS / 5 : RENEW_MS);
    }
  }

  /** Reads the outbox ahead while holding the duty. */
  private async reader(): Promise<void> {
    const { outbox, metrics } = this.deps;
    const peer = this.peer.region;
    while (this.running) {
      if (
        !this.holding ||
        this.pendingEvents >= (this.deps.readAhead ?? READ_AHEAD_EVENTS) ||
        this.pendingBytes >= READ_AHEAD_BYTES
      ) {
        await this.pause(100);
        continue;
      }
      const generation = this.generation;
      let entries: Entry[];
      try {
        entries = await outbox.read(peer, this.after, 100, READ_BLOCK_MS);
      } catch {
        await this.pause(200);
        continue;
      }
      // The duty changed hands while reading: these are not ours to keep.
      if (generation !== this.generation) continue;
      for (const entry of entries) {
        this.pending.push(entry);
        this.pendingEvents += entry.count;
        this.pendingBytes += entry.joined.length;
        this.after = entry.id;
      }
      if (entries.length > 0) this.wakeSender?.();
      if (Date.now() - this.gaugedAt > 1000) {
        this.gaugedAt = Date.now();
        metrics.relayQueued.set({ peer }, await outbox.size(peer).catch(() => 0));
      }
    }
  }

  /** Posts what was read, in order, while the duty is held. */
  private async sender(): Promise<void> {
    const { outbox, metrics } = this.deps;
    const peer = this.peer.region;
    while (this.running) {
      if (!this.leased || this.pending.length === 0) {
        await this.pause(1000, true);
        continue;
      }
      const generation = this.generation;
      const batch: Entry[] = [];
      let events = 0;
      for (let i = 0; i < this.pending.length; i++) {
        const entry = this.pending.peekAt(i) as Entry;
        if (batch.length > 0 && events + entry.count > MAX_BATCH) break;
        batch.push(entry);
        events += entry.count;
      }
      const sent = await this.send(batch.map((e) => e.joined).join(','));
      if (generation !== this.generation) continue; // lost the duty meanwhile: pending is not ours
      if (sent) {
        this.backoff.reset();
        metrics.relaySent.inc({ peer }, events);
        for (let i = 0; i < batch.length; i++) this.pending.shift();
        this.pendingEvents -= events;
        for (const entry of batch) this.pendingBytes -= entry.joined.length;
        // Gone from the outbox before going on: an entry left there would be sent again by a later
        // relayer, perhaps after the peer forgot it had it. Stopped first: the next one sends it again
        // while the peer still knows it (entries are dropped well before that, OUTBOX_MAX_AGE_MS).
        const ids = batch.map((e) => e.id);
        while (
          this.running &&
          !(await outbox.ack(peer, ids).then(
            () => true,
            () => false,
          ))
        )
          await this.pause(200);
      } else {
        await this.pause(this.backoff.next());
      }
    }
  }

  private async send(joined: string): Promise<boolean> {
    try {
      await this.urls.run(async (base) => {
        const response = await request(`${base}/internal/relay`, {
          method: 'POST',
          dispatcher: this.deps.agent,
          headers: { 'content-type': 'application/json', authorization: `Bearer ${this.deps.token}` },
          body: `{"events":[${joined}]}`,
          headersTimeout: REQUEST_TIMEOUT_MS,
          bodyTimeout: REQUEST_TIMEOUT_MS,
        });
        await response.body.dump();
        if (response.statusCode !== 200) throw new Error(`peer answered ${response.statusCode}`);
      });
      return true;
    } catch {
      this.deps.metrics.relayFailures.inc({ peer: this.peer.region });
      return false;
    }
  }

  /** Waits `ms`, or until stopping (or, for the sender, until there is something to send). */
  private pause(ms: number, sender = false): Promise<void> {
    return new Promise((resolve) => {
      const wake = () => {
        clearTimeout(timer);
        this.wakers.delete(wake);
        if (sender && this.wakeSender === wake) this.wakeSender = undefined;
        resolve();
      };
      const timer = setTimeout(wake, ms);
      this.wakers.add(wake);
      if (sender) this.wakeSender = wake;
    });
  }
}

/** Relays to every peer region, and exchanges viewer counts with them. */
export class Relay {
  readonly relayers: OutboxRelayer[];
  private readonly agent = new Agent({ keepAliveTimeout: 30_000, connections: 2 });
  private readonly presenceAgent = new Agent({
    keepAliveTimeout: 30_000,
    connections: 1,
    connect: { timeout: REQUEST_TIMEOUT_MS },
  });

  constructor(
    peers: readonly Peer[],
    readonly outbox: RelayOutbox,
    deps: {
      token: string;
      metrics: DispatcherMetrics;
      claim: (peer: string, ttlMs: number, fresh: FreshDuty) => Promise<boolean>;
      release: (peer: string) => Promise<void>;
    },
  ) {
    this.relayers = peers.map(
      (peer) =>
        new OutboxRelayer(peer, {
          outbox,
          claim: (ttlMs, fresh) => deps.claim(peer.region, ttlMs, fresh),
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
    await Promise.all(this.relayers.map(({ peer }) => this.post(peer.urls, '/internal/region-counts', body, token)));
  }

  /** The peer regions' names. */
  get peerRegions(): string[] {
    return this.relayers.map(({ peer }) => peer.region);
  }

  /**
   * Gives one peer node reports this region took (best effort: see presence-forward.ts), on
   * connections of its own that give up connecting within REQUEST_TIMEOUT_MS: a peer that does
   * not answer holds back neither the others nor the relay.
   */
  async pushPresence(region: string, message: TRegionPresence, token: string): Promise<void> {
    const relayer = this.relayers.find(({ peer }) => peer.region === region);
    if (!relayer) return;
    const taken = await this.post(
      relayer.peer.urls,
      '/internal/region-presence',
      JSON.stringify(message),
      token,
      this.presenceAgent,
    );
    if (!taken) throw new Error(`region ${region} did not take the presence reports`);
  }

  /** One JSON body to a peer through the first of its URLs that takes it (200); whether one did. */
  private async post(urls: readonly string[], path: string, body: string, token: string, agent = this.agent) {
    for (const base of urls) {
      try {
        const response = await request(`${base}${path}`, {
          method: 'POST',
          dispatcher: agent,
          headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
          body,
          headersTimeout: REQUEST_TIMEOUT_MS,
          bodyTimeout: REQUEST_TIMEOUT_MS,
        });
        await response.body.dump();
        if (response.statusCode === 200) return true;
      } catch {}
    }
    return false;
  }

  async close(): Promise<void> {
    await Promise.all(this.relayers.map((r) => r.stop()));
    await this.outbox.close();
    await this.agent.close();
    await this.presenceAgent.close();
  }
}
