import { EventEmitter } from 'node:events';
import { type AddressInfo, createServer, type Server, type Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
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

export interface FaultProxyStats {
  accepted: number;
  active: number;
  /** Connections closed at once because the proxy was disabled. */
  refused: number;
  /** Connections reset because no target accepted them. */
  unroutable: number;
  /** Upstream connect attempts refused or timed out (each one skipped to the next target). */
  failedConnects: number;
  bytesToUpstream: number;
  bytesToClient: number;
  /** Bytes that vanished in a black hole or were queued on a connection when it was cut. */
  droppedBytes: number;
  /** Connections reset because a direction buffered more than `maxBufferedBytes`. */
  overflows: number;
  faults: Record<FaultKind, number>;
}

type Counters = Omit<FaultProxyStats, 'active' | 'failedConnects' | 'faults'>;

const MiB = 1024 * 1024;

/** The faults in force, read by every connection on every chunk. */
class FaultState {
  latencyMs = 0;
  jitterMs = 0;
  /** performance.now() at which the stall ends; 0 when none (set back to 0 by the stall's end timer). */
  stalledUntil = 0;
  blackholedUntil = 0;
  disabled = false;

  constructor(private readonly random: () => number) {}

  /** True when chunks must go through a direction's queue rather than straight to the other socket. */
  get holding(): boolean {
    return this.stalledUntil !== 0 || this.latencyMs !== 0 || this.jitterMs !== 0;
  }

  delay(): number {
    return this.latencyMs + this.jitterMs * this.random();
  }
}

/** What a connection needs from its proxy. */
interface LinkContext {
  readonly faults: FaultState;
  readonly counters: Counters;
  readonly maxBufferedBytes: number;
  closed(link: Link): void;
}

interface Held {
  /** null stands for the FIN, which must not overtake the data ahead of it. */
  chunk: Buffer | null;
  due: number;
}

/**
 * One direction of a connection. With no fault in force each chunk is written straight through and the source is
 * paused while the destination's buffer is full, which is what `pipe` does: no timer, no allocation, one write per
 * chunk (the test 'adds well under a millisecond…' guards it; about 0.05 ms per small HTTP request on loopback).
 * Under latency or stall a chunk joins a FIFO with the time it may leave; only the head is ever released, so a
 * later chunk (with less jitter) never overtakes an earlier one, and one timer per direction waits for the head.
 * Backpressure still pauses the source while the destination is full, so the queue holds what is in flight
 * (rate × latency) plus what arrives during a stall, and that is bounded by `maxBufferedBytes`.
 */
class Direction {
  #queue: Array<Held | undefined> = [];
  #head = 0;
  #bytes = 0;
  #timer: NodeJS.Timeout | undefined;
  #armedFor = 0;
  #blocked = false;
  #disposed = false;

  constructor(
    private readonly src: Socket,
    private readonly dst: Socket,
    private readonly ctx: LinkContext,
    private readonly sent: (bytes: number) => void,
    private readonly overflow: () => void,
  ) {}

  push(chunk: Buffer | null): void {
    if (this.#disposed) return;
    if (this.#head === this.#queue.length && !this.ctx.faults.holding) {
      this.#write(chunk);
      return;
    }
    this.#queue.push({ chunk, due: performance.now() + this.ctx.faults.delay() });
    this.#bytes += chunk?.length ?? 0;
    if (this.#bytes > this.ctx.maxBufferedBytes) this.overflow();
    else this.flush();
  }

  /** Releases every chunk that is due; called on push, on its timer, on drain and when a stall ends. */
  flush(): void {
    while (!this.#disposed && !this.#blocked && this.#head < this.#queue.length) {
      const now = performance.now();
      if (this.ctx.faults.stalledUntil > now) return; // the stall's end flushes every link
      const held = this.#queue[this.#head] as Held;
      if (held.due > now) {
        this.#arm(held.due, now);
        return;
      }
      this.#queue[this.#head++] = undefined;
      this.#bytes -= held.chunk?.length ?? 0;
      this.#write(held.chunk);
    }
    if (this.#head === this.#queue.length && this.#head > 0) {
      this.#queue = [];
      this.#head = 0;
      clearTimeout(this.#timer);
      this.#timer = undefined;
    }
  }

  /** Makes every held chunk due now (heal): the link is healthy from this moment, in-flight delays included. */
  release(): void {
    for (let i = this.#head; i < this.#queue.length; i++) (this.#queue[i] as Held).due = 0;
    this.flush();
  }

  /** Stops forwarding for good; returns the bytes still held, which are lost. */
  dispose(): number {
    this.#disposed = true;
    clearTimeout(this.#timer);
    this.dst.off('drain', this.#onDrain);
    const lost = this.#bytes;
    this.#queue = [];
    this.#bytes = 0;
    return lost;
  }

  #write(chunk: Buffer | null): void {
    if (this.dst.destroyed) return;
    if (chunk === null) {
      this.dst.end();
      return;
    }
    this.sent(chunk.length);
    if (!this.dst.write(chunk) && !this.#blocked) {
      this.#blocked = true;
      this.src.pause();
      this.dst.once('drain', this.#onDrain);
    }
  }

  #onDrain = (): void => {
    this.#blocked = false;
    this.src.resume();
    this.flush();
  };

  /** One timer per direction, for the head; pushes behind an unchanged head do not touch it. */
  #arm(due: number, now: number): void {
    if (this.#timer && this.#armedFor === due) return;
    clearTimeout(this.#timer);
    this.#armedFor = due;
    // Timers have millisecond granularity and may fire a little early: flush checks the head again.
    this.#timer = setTimeout(this.#onTimer, Math.ceil(due - now));
  }

  #onTimer = (): void => {
    this.#timer = undefined;
    this.flush();
  };
}

/**
 * One client connection and its upstream. It is live, or dead once black-holed: a dead link forwards nothing
 * ever again and each of its sockets closes only when its own peer closes it (or the proxy closes), as if every
 * packet between them were being dropped.
 */
class Link {
  #upstream: Socket | undefined;
  #toUpstream: Direction | undefined;
  #toClient: Direction | undefined;
  #dead = false;
  #cut = false;
  #connecting = false;
  #openSockets = 1;
  readonly #abort = new AbortController();

  constructor(
    private readonly client: Socket,
    private readonly ctx: LinkContext,
  ) {
    client.pause();
    client.on('data', (chunk: Buffer) => this.#onData(this.#toUpstream, chunk));
    client.on('end', () => this.#onEnd(client, this.#toUpstream));
    client.on('close', (hadError) => this.#onClose(hadError));
  }

  async connect(balancer: RoundRobin): Promise<void> {
    this.#connecting = true;
    const upstream = await balancer.connect(this.#abort.signal);
    this.#connecting = false;
    if (this.#dead || this.#cut) {
      upstream?.destroy();
    } else if (!upstream) {
      this.ctx.counters.unroutable++;
      this.reset();
    } else {
      this.#adopt(upstream);
    }
    this.#maybeClosed();
  }

  /** Stops forwarding; bytes from either side are read and dropped from now on. */
  blackhole(): void {
    if (this.#dead || this.#cut) return;
    this.#dead = true;
    this.#abort.abort();
    this.#dispose();
    this.client.resume();
    this.#upstream?.resume();
  }

  /** Delivers what is due now that a stall has ended. */
  flush(): void {
    this.#toUpstream?.flush();
    this.#toClient?.flush();
  }

  /** Delivers everything held, due or not. */
  release(): void {
    this.#toUpstream?.release();
    this.#toClient?.release();
  }

  /** Tears both sides down with a TCP RST. */
  reset(): void {
    this.#cut = true;
    this.#abort.abort();
    this.#dispose();
    resetSocket(this.client);
    if (this.#upstream) resetSocket(this.#upstream);
  }

  /** Closes both sides (the proxy is closing). */
  destroy(): void {
    this.#cut = true;
    this.#abort.abort();
    this.#dispose();
    this.client.destroy();
    this.#upstream?.destroy();
  }

  #adopt(upstream: Socket): void {
    this.#upstream = upstream;
    this.#openSockets++;
    const { counters } = this.ctx;
    const overflow = () => {
      counters.overflows++;
      this.reset();
    };
    this.#toUpstream = new Direction(this.client, upstream, this.ctx, (n) => (counters.bytesToUpstream += n), overflow);
    this.#toClient = new Direction(upstream, this.client, this.ctx, (n) => (counters.bytesToClient += n), overflow);
    upstream.on('data', (chunk: Buffer) => this.#onData(this.#toClient, chunk));
    upstream.on('end', () => this.#onEnd(upstream, this.#toClient));
    upstream.on('close', (hadError) => this.#onClose(hadError));
    this.client.resume();
  }

  #onData(direction: Direction | undefined, chunk: Buffer): void {
    if (this.#dead || !direction) this.ctx.counters.droppedBytes += chunk.length;
    else direction.push(chunk);
  }

  #onEnd(socket: Socket, direction: Direction | undefined): void {
    if (this.#dead) socket.destroy();
    else direction?.push(null);
  }

  #onClose(hadError: boolean): void {
    this.#openSockets--;
    if (!this.#dead && !this.#cut) {
      // A clean close means both sides sent their FIN; the other socket closes once the FIN queued for it is
      // written. Anything else (an RST, a peer gone mid-stream) is passed on as abruptly.
      const finished = this.client.readableEnded && this.#upstream?.readableEnded;
      if (hadError || !finished) this.reset();
    }
    this.#maybeClosed();
  }

  #maybeClosed(): void {
    if (this.#openSockets === 0 && !this.#connecting) this.ctx.closed(this);
  }

  #dispose(): void {
    const lost = (this.#toUpstream?.dispose() ?? 0) + (this.#toClient?.dispose() ?? 0);
    this.ctx.counters.droppedBytes += lost;
  }
}

function resetSocket(socket: Socket): void {
  if (socket.destroyed) return;
  try {
    socket.resetAndDestroy();
  } catch {
    socket.destroy();
  }
}

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
