import type { ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { encodeFrame, parsePositionId, type TWireEvent } from '@ovation/shared';
import { encodeTopicBatch } from '../fanout/encode-batch.js';

/**
 * Where a topic's live stream takes over from a catch-up (snapshot or replay): events at or before
 * this position of this epoch are already covered and are not written again.
 */
export interface Cutoff {
  epoch: string;
  pos: number;
}

/** What a connection keeps while held (see `hold`). */
interface HoldState {
  /** Holds not released yet; the stream is held until it is 0. */
  depth: number;
  /** Frames that arrived meanwhile, with the topic and events they encode (none: control frames). */
  held: Array<{ chunk: Buffer; topic?: string; events?: readonly TWireEvent[] }>;
  bytes: number;
  /** Catch-up frames given by releases, written before the held frames. */
  preamble: string;
  cutoffs: Map<string, Cutoff>;
}

/**
 * One browser's SSE stream.
 *
 * Memory is the budget here (19,000 of these per process): the state is the socket, a small
 * exact-size array of topics, a heartbeat slot and two numbers. The response head is one Buffer
 * shared by every connection (see stream-head.ts) written straight to the socket, and frames follow
 * it unframed: the stream is delimited by the connection closing, so there is no chunked encoding
 * to apply per write and no per-connection header string for Node to keep.
 *
 * Hand-over: a connection is held — live frames are kept, not written — from its creation until
 * `begin`, and again while topics it joins are caught up (`hold`/`release`). On release the
 * catch-up frames (replay, snapshot) go first, then the held frames minus the events the catch-up
 * already covered (per topic, by log position), so the viewer sees each event exactly once.
 *
 * Backpressure: bytes the kernel has not taken yet sit in the socket's buffer (`writableLength`),
 * held frames count too. Past `maxBufferedBytes` the client is too slow: it gets a `reconnect`
 * frame and is closed, so one stuck phone can neither grow this node's memory nor delay others.
 */
export class Connection {
  /** Topics this connection is subscribed to (replaced, never grown in place: stays exact-size). */
  topics: readonly string[] = [];
  /** When this connection last reported latency samples (POST /latency is bounded per connection). */
  lastLatencyReportAt = 0;
  private closed = false;
  private socket: Socket | null = null;
  private holding: HoldState | undefined = { depth: 1, held: [], bytes: 0, preamble: '', cutoffs: new Map() };
  /**
   * Cutoffs still in force after a release, for topics whose events up to the cutoff had not all
   * reached this node yet; each goes once an event past it is delivered. Usually undefined.
   */
  private lingering: Map<string, Cutoff> | undefined;

  constructor(
    readonly id: string,
    private readonly res: ServerResponse,
    readonly slot: number,
    private readonly maxBufferedBytes: number,
    private readonly onSlow: (connection: Connection) => void,
    /** Listens without counting as a viewer (`observer=1`: the broadcaster's studio). */
    readonly observer = false,
  ) {}

  get isOpen(): boolean {
    return !this.closed;
  }

  hasTopic(topic: string): boolean {
    return this.topics.includes(topic);
  }

  /** Adds a topic; false when it was already there. */
  addTopic(topic: string): boolean {
    if (this.topics.includes(topic)) return false;
    this.topics = [...this.topics, topic];
    return true;
  }

  /** Removes a topic; false when it was not there. */
  removeTopic(topic: string): boolean {
    if (!this.topics.includes(topic)) return false;
    this.topics = this.topics.filter((t) => t !== topic);
    return true;
  }

  /**
   * Sends the response head and the first frame, then releases the hold the connection was
   * created with (so the rest follows once every other hold is released too).
   */
  begin(head: Buffer, firstFrame: string): void {
    if (this.closed || this.socket) return;
    const socket = this.res.socket;
    if (!socket || socket.destroyed) {
      this.closed = true;
      return;
    }
    this.socket = socket;
    socket.write(head);
    socket.write(firstFrame);
    this.release('', new Map());
  }

  /** Holds live frames until the matching `release`. */
  hold(): void {
    if (this.holding) this.holding.depth++;
    else this.holding = { depth: 1, held: [], bytes: 0, preamble: '', cutoffs: new Map() };
  }

  /**
   * Ends one hold with its catch-up frames and the position each caught-up topic was read at; the
   * last release writes every hold's catch-up frames, then the held frames they do not cover.
   */
  release(frames: string, cutoffs: ReadonlyMap<string, Cutoff>, lingering?: ReadonlyMap<string, Cutoff>): void {
    const hold = this.holding;
    if (!hold) return;
    hold.preamble += frames;
    for (const [topic, cutoff] of cutoffs) hold.cutoffs.set(topic, cutoff);
    for (const [topic, cutoff] of lingering ?? []) {
      this.lingering ??= new Map();
      this.lingering.set(topic, cutoff);
    }
    if (--hold.depth > 0 || !this.socket) return;
    this.holding = undefined;
    if (this.closed) return;
    if (hold.preamble) this.write(Buffer.from(hold.preamble));
    for (const entry of hold.held) {
      const cutoff = entry.topic === undefined ? undefined : hold.cutoffs.get(entry.topic);
      if (!cutoff || !entry.events) {
        this.write(entry.chunk);
        continue;
      }
      const rest = entry.events.filter((event) => isAfter(event, cutoff));
      if (rest.length === entry.events.length) this.write(entry.chunk);
      else if (rest.length > 0) this.write(Buffer.from(encodeTopicBatch(rest).text));
    }
  }

  /** Writes a topic's frames (`chunk` encodes `events`); false when the connection is closed. */
  deliver(chunk: Buffer, topic: string, events: readonly TWireEvent[]): boolean {
    if (this.holding) return this.keep({ chunk, topic, events });
    const cutoff = this.lingering?.get(topic);
    if (!cutoff) return this.write(chunk);
    const rest = events.filter((event) => isAfter(event, cutoff));
    if (rest.length > 0) {
      this.lingering?.delete(topic);
      if (this.lingering?.size === 0) this.lingering = undefined;
    }
    if (rest.length === events.length) return this.write(chunk);
    return rest.length === 0 || this.write(Buffer.from(encodeTopicBatch(rest).text));
  }

  /** Writes prepared bytes; false when the connection is closed or was just closed as slow. */
  write(chunk: Buffer): boolean {
    if (this.closed) return false;
    if (this.holding) return this.keep({ chunk });
    const socket = this.socket;
    if (!socket) return false;
    if (socket.writableLength > this.maxBufferedBytes) {
      this.onSlow(this);
      this.end(encodeFrame('reconnect', JSON.stringify({ afterMs: 0 })));
      return false;
    }
    socket.write(chunk);
    return true;
  }

  private keep(entry: HoldState['held'][number]): boolean {
    const hold = this.holding as HoldState;
    if (this.closed) return false;
    hold.bytes += entry.chunk.length;
    if (hold.bytes > this.maxBufferedBytes) {
      this.onSlow(this);
      this.holding = undefined;
      if (this.socket) this.end(encodeFrame('reconnect', JSON.stringify({ afterMs: 0 })));
      else {
        this.closed = true;
        this.res.destroy();
      }
      return false;
    }
    hold.held.push(entry);
    return true;
  }

  /** Ends the stream after an optional last frame; a socket that cannot flush it is destroyed. */
  end(lastFrame?: string): void {
    if (this.closed) return;
    this.closed = true;
    this.holding = undefined;
    const socket = this.socket;
    if (!socket) {
      // Never begun: there is no stream to say goodbye on.
      this.res.destroy();
      return;
    }
    if (lastFrame) socket.end(lastFrame);
    else socket.end();
    const guard = setTimeout(() => socket.destroy(), 5000);
    guard.unref();
    socket.once('close', () => clearTimeout(guard));
  }

  /** Marks the connection closed after the client went away. */
  markClosed(): void {
    this.closed = true;
    this.holding = undefined;
  }
}

/** Whether an event comes after a cutoff (an id that is not a position id is never covered). */
function isAfter(event: TWireEvent, cutoff: Cutoff): boolean {
  const position = parsePositionId(event.id);
  return !position || position.epoch !== cutoff.epoch || position.pos > cutoff.pos;
}
