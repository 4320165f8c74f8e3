import { EventEmitter } from 'node:events';
import { type AddressInfo, createServer, type Server, type Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import { type Counters, FaultState, Link, type LinkContext, resetSocket } from './fault-link.js';
import { RoundRobin, type Targets, type Upstream } from './load-balancer.js';

export type { Targets, Upstream };

/*
 * A TCP proxy that injects link faults (netem is unavailable, so faults live in user space):
 *
 *   client ──▶ FaultProxy ──(round-robin over targets)──▶ upstream
 *              one Link per connection: two Directions, each a FIFO that latency and stall hold chunks in
 */

export interface FaultProxyOptions {
  /** Names the link in events and the suite's table. */
  name: string;
  targets: Targets;
  host?: string;
  /** 0 (the default) picks a free port. */
  port?: number;
  /** After this a target is skipped as if it had refused; loopback connects take well under a millisecond. */
  connectTimeoutMs?: number;
  /** Per direction of a connection; past it the connection is reset and counted in `overflows`. */
  maxBufferedBytes?: number;
  /** Source of jitter in [0, 1); pass a seeded one to replay a schedule. */
  random?: () => number;
}

export type FaultKind = 'latency' | 'stall' | 'reset' | 'blackhole' | 'disable';

/** A fault starting or ending; a reset starts and ends at once. */
export interface FaultEvent {
  proxy: string;
  kind: FaultKind;
  phase: 'start' | 'end';
  /** The duration asked for (stall, blackhole) or the latency. */
  ms?: number;
}

export interface FaultProxyStats extends Counters {
  active: number;
  /** Upstream connect attempts refused or timed out (each one skipped to the next target). */
  failedConnects: number;
  faults: Record<FaultKind, number>;
}

const MiB = 1024 * 1024;

export class FaultProxy extends EventEmitter<{ fault: [FaultEvent] }> {
  readonly name: string;
  readonly host: string;
  #port = 0;
  readonly #server: Server;
  readonly #balancer: RoundRobin;
  readonly #faults: FaultState;
  readonly #links = new Set<Link>();
  readonly #counters: Counters = {
    accepted: 0,
    refused: 0,
    unroutable: 0,
    bytesToUpstream: 0,
    bytesToClient: 0,
    droppedBytes: 0,
    overflows: 0,
  };
  readonly #applied: Record<FaultKind, number> = { latency: 0, stall: 0, reset: 0, blackhole: 0, disable: 0 };
  readonly #context: LinkContext;
  #stallTimer: NodeJS.Timeout | undefined;
  #blackholeTimer: NodeJS.Timeout | undefined;
  #closing: Promise<void> | undefined;
  #allClosed: (() => void) | undefined;

  static async start(options: FaultProxyOptions): Promise<FaultProxy> {
    const proxy = new FaultProxy(options);
    await proxy.#listen(options.port ?? 0);
    return proxy;
  }

  private constructor(options: FaultProxyOptions) {
    super();
    this.name = options.name;
    this.host = options.host ?? '127.0.0.1';
    this.#balancer = new RoundRobin(options.targets, options.connectTimeoutMs ?? 500);
    this.#faults = new FaultState(options.random ?? Math.random);
    this.#context = {
      faults: this.#faults,
      counters: this.#counters,
      maxBufferedBytes: options.maxBufferedBytes ?? 64 * MiB,
      closed: (link) => {
        this.#links.delete(link);
        if (this.#links.size === 0) this.#allClosed?.();
      },
    };
    this.#server = createServer({ allowHalfOpen: true, noDelay: true, pauseOnConnect: true }, (client) =>
      this.#accept(client),
    );
  }

  get port(): number {
    return this.#port;
  }

  get url(): string {
    return `http://${this.host.includes(':') ? `[${this.host}]` : this.host}:${this.#port}`;
  }

  stats(): FaultProxyStats {
    return {
      ...this.#counters,
      active: this.#links.size,
      failedConnects: this.#balancer.failedAttempts,
      faults: { ...this.#applied },
    };
  }

  /** Delays every chunk, both ways, by `ms` plus up to `jitterMs`; `latency(0)` removes it. */
  latency(ms: number, jitterMs = 0): void {
    checkDuration(ms, 'latency');
    checkDuration(jitterMs, 'jitter');
    const had = this.#faults.latencyMs !== 0 || this.#faults.jitterMs !== 0;
    this.#faults.latencyMs = ms;
    this.#faults.jitterMs = jitterMs;
    if (ms !== 0 || jitterMs !== 0) {
      this.#applied.latency++;
      this.#emit('latency', 'start', ms);
    } else if (had) {
      this.#emit('latency', 'end');
    }
  }

  /** Holds every byte, both ways and on new connections too, for `ms`; then releases it all in order. */
  stall(ms: number): void {
    checkDuration(ms, 'stall');
    this.#applied.stall++;
    this.#faults.stalledUntil = Math.max(this.#faults.stalledUntil, performance.now() + ms);
    this.#emit('stall', 'start', ms);
    this.#armStallEnd();
  }

  /** Tears every current connection down on both sides with a TCP RST. */
  reset(): void {
    this.#applied.reset++;
    this.#emit('reset', 'start');
    for (const link of this.#links) link.reset();
    this.#emit('reset', 'end');
  }

  /**
   * For `ms`, bytes on current connections and on connections accepted meanwhile vanish: no answer, no FIN, no
   * RST. Those connections stay dead; connections accepted afterwards work.
   */
  blackhole(ms: number): void {
    checkDuration(ms, 'blackhole');
    this.#applied.blackhole++;
    this.#faults.blackholedUntil = Math.max(this.#faults.blackholedUntil, performance.now() + ms);
    this.#emit('blackhole', 'start', ms);
    for (const link of this.#links) link.blackhole();
    this.#armBlackholeEnd();
  }

  /**
   * Ends latency, stall and blackhole now and delivers every held byte at once; black-holed connections stay
   * dead. (latency(0) alone lets chunks already delayed arrive when due, as packets in flight would.)
   */
  heal(): void {
    this.latency(0);
    if (this.#faults.stalledUntil !== 0) this.#endStall();
    if (this.#faults.blackholedUntil !== 0) this.#endBlackhole();
    for (const link of this.#links) link.release();
  }

  /** The link is down: current connections are reset and new ones are reset as soon as they are accepted. */
  disable(): void {
    if (this.#faults.disabled) return;
    this.#faults.disabled = true;
    this.#applied.disable++;
    this.#emit('disable', 'start');
    for (const link of this.#links) link.reset();
  }

  enable(): void {
    if (!this.#faults.disabled) return;
    this.#faults.disabled = false;
    this.#emit('disable', 'end');
  }

  /** Stops listening and closes every connection; resolves once every socket, both sides, is closed. */
  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  async #close(): Promise<void> {
    clearTimeout(this.#stallTimer);
    clearTimeout(this.#blackholeTimer);
    const listenerClosed = new Promise<void>((resolve) => this.#server.close(() => resolve()));
    const linksClosed = new Promise<void>((resolve) => {
      this.#allClosed = resolve;
      if (this.#links.size === 0) resolve();
    });
    for (const link of this.#links) link.destroy();
    await Promise.all([listenerClosed, linksClosed]);
  }

  #listen(port: number): Promise<void> {
    return new Promise((resolve, reject) => {
      this.#server.once('error', reject);
      this.#server.listen(port, this.host, () => {
        this.#server.off('error', reject);
        // Accept errors (EMFILE) are not fatal for a proxy: the client sees its connection fail.
        this.#server.on('error', () => {});
        this.#port = (this.#server.address() as AddressInfo).port;
        resolve();
      });
    });
  }

  #accept(client: Socket): void {
    client.on('error', () => {}); // every failure also emits 'close', which is what the link acts on
    this.#counters.accepted++;
    if (this.#closing) {
      client.destroy();
      return;
    }
    if (this.#faults.disabled) {
      this.#counters.refused++;
      resetSocket(client);
      return;
    }
    const link = new Link(client, this.#context);
    this.#links.add(link);
    // A connection that opens into a black hole never reaches an upstream, as its SYN would not have.
    if (this.#faults.blackholedUntil > performance.now()) link.blackhole();
    else void link.connect(this.#balancer);
  }

  #armStallEnd(): void {
    clearTimeout(this.#stallTimer);
    const left = this.#faults.stalledUntil - performance.now();
    this.#stallTimer = setTimeout(
      () => (this.#faults.stalledUntil > performance.now() ? this.#armStallEnd() : this.#endStall()),
      Math.ceil(Math.max(left, 0)),
    );
  }

  #endStall(): void {
    clearTimeout(this.#stallTimer);
    this.#faults.stalledUntil = 0;
    this.#emit('stall', 'end');
    for (const link of this.#links) link.flush();
  }

  #armBlackholeEnd(): void {
    clearTimeout(this.#blackholeTimer);
    const left = this.#faults.blackholedUntil - performance.now();
    this.#blackholeTimer = setTimeout(
      () => (this.#faults.blackholedUntil > performance.now() ? this.#armBlackholeEnd() : this.#endBlackhole()),
      Math.ceil(Math.max(left, 0)),
    );
  }

  #endBlackhole(): void {
    clearTimeout(this.#blackholeTimer);
    this.#faults.blackholedUntil = 0;
    this.#emit('blackhole', 'end');
  }

  #emit(kind: FaultKind, phase: FaultEvent['phase'], ms?: number): void {
    this.emit('fault', ms === undefined ? { proxy: this.name, kind, phase } : { proxy: this.name, kind, phase, ms });
  }
}

function checkDuration(ms: number, what: string): void {
  if (!Number.isFinite(ms) || ms < 0) throw new RangeError(`${what} must be a finite number of ms >= 0, got ${ms}`);
}
