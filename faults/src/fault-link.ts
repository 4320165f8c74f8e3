import type { Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import type { RoundRobin } from './load-balancer.js';

/*
 * One proxied connection of a FaultProxy (fault-proxy.ts) and the faults it reads on every chunk:
 *
 *   client socket ──Direction──▶ upstream socket      (latency and stall hold chunks in each FIFO)
 *                 ◀──Direction──
 */

/** What a proxy counts across its connections. */
export interface Counters {
  accepted: number;
  /** Connections closed at once because the proxy was disabled. */
  refused: number;
  /** Connections reset because no target accepted them. */
  unroutable: number;
  bytesToUpstream: number;
  bytesToClient: number;
  /** Bytes that vanished in a black hole or were queued on a connection when it was cut. */
  droppedBytes: number;
  /** Connections reset because a direction buffered more than `maxBufferedBytes`. */
  overflows: number;
}

/** The faults in force, read by every connection on every chunk. */
export class FaultState {
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
export interface LinkContext {
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
export class Link {
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

export function resetSocket(socket: Socket): void {
  if (socket.destroyed) return;
  try {
    socket.resetAndDestroy();
  } catch {
    socket.destroy();
  }
}
