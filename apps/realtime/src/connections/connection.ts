import type { ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { encodeFrame, parsePositionId, type TWireEvent } from '@ovation/shared';
import { type Access, guestAccess } from '../access/access.js';
import { encodeTopicBatch } from '../fanout/encode-batch.js';

/**
 * Where a topic's live stream takes over from a catch-up (snapshot or replay): events at or before
 * this position of this epoch are already covered and are not written again.
 */
export interface Cutoff {
  epoch: string;
  pos: number;
}

/** Any topic, no observing (connections made directly, as in unit tests). */
const OPEN_ACCESS = guestAccess(() => true);

/** What a connection keeps while held (see `hold`). */
interface HoldState {
  /** Holds not released yet; the stream is held until it is 0. */
  depth: number;
  /** Frames that arrived meanwhile, with the topic and events they encode (none: control frames). */
  held: Array<{ chunk: Buffer; topic?: string; events?: readonly TWireEvent[] }>;
  bytes: number;
  /** Catch-up frames given by releases, written before the held frames (replayed ones are shared). */
  preamble: Buffer[];
  cutoffs: Map<string, Cutoff>;
}

/**
 * A catch-up is written to the socket in steps: while the kernel holds this much unsent, the rest
 * waits for the socket to drain (a replay can be larger than MAX_BUFFERED_BYTES).
 */
const PACE_BYTES = 64 * 1024;
/** A catch-up the client has not read within this long: the client is too slow (closed, told to reconnect). */
const BACKLOG_DEADLINE_MS = 60_000;

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
 * A catch-up (a replay of up to the whole history) is paced instead: written as the socket drains,
 * with live frames queued behind it and counted against the bound. Its replayed frames are Buffers
 * shared by every connection that joined in the same round, so pacing costs references, not copies.
 */
export class Connection {
  /** Topics this connection is subscribed to (replaced, never grown in place: stays exact-size). */
  topics: readonly string[] = [];
  /** When this connection last reported latency samples (POST /latency is bounded per connection). */
  lastLatencyReportAt = 0;
  private closed = false;
  private socket: Socket | null = null;
  private holding: HoldState | undefined = { depth: 1, held: [], bytes: 0, preamble: [], cutoffs: new Map() };
  /** Frames waiting for the socket to drain (a catch-up being paced out), and live bytes among them. */
  private backlog: { chunks: Buffer[]; next: number; liveBytes: number; since: number } | undefined;
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
    /** What it may join (shared by every guest; its own for a token holder). */
    readonly access: Access = OPEN_ACCESS,
  ) {}

  /** Who the viewer is, when its token named them (counted once per topic however many tabs). */
  get viewerId(): string | undefined {
    return this.access.viewerId;
  }

  get viewerName(): string | undefined {
    return this.access.viewerName;
  }

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
      // Its 'close' then comes at once, so the hub and the bounds let go of it.
      this.res.destroy();
      return;
    }
    this.socket = socket;
    socket.write(head);
    socket.write(firstFrame);
    this.release([], new Map());
  }

  /**
   * Answers a connection that will not be served here (the node drains, is full, cannot reach the
   * dispatcher tier) with a stream that only says when and where to go: `frames` (a `retry:` and a
   * `reconnect`), then the end. A standard EventSource reconnects after `retry`; an error status
   * would end it for good.
   */
  refuse(head: Buffer, frames: string): void {
    if (this.closed) return;
    this.closed = true;
    this.holding = undefined;
    const socket = this.socket ?? this.res.socket;
    if (!socket || socket.destroyed) return;
    if (!this.socket) socket.write(head);
    socket.end(frames);
    const guard = setTimeout(() => socket.destroy(), 5000);
    guard.unref();
    socket.once('close', () => clearTimeout(guard));
  }

  /** Holds live frames until the matching `release`. */
  hold(): void {
    if (this.holding) this.holding.depth++;
    else this.holding = { depth: 1, held: [], bytes: 0, preamble: [], cutoffs: new Map() };
  }

  /**
   * Ends one hold with its catch-up frames and the position each caught-up topic was read at; the
   * last release writes every hold's catch-up frames, then the held frames they do not cover.
   */
  release(
    frames: readonly Buffer[],
    cutoffs: ReadonlyMap<string, Cutoff>,
    lingering?: ReadonlyMap<string, Cutoff>,
  ): void {
    const hold = this.holding;
    if (!hold) return;
    for (const frame of frames) hold.preamble.push(frame);
    for (const [topic, cutoff] of cutoffs) hold.cutoffs.set(topic, cutoff);
    for (const [topic, cutoff] of lingering ?? []) {
      this.lingering ??= new Map();
      this.lingering.set(topic, cutoff);
    }
    if (--hold.depth > 0 || !this.socket) return;
    this.holding = undefined;
    if (this.closed) return;
    const chunks = hold.preamble;
    let liveBytes = 0;
    for (const entry of hold.held) {
      const cutoff = entry.topic === undefined ? undefined : hold.cutoffs.get(entry.topic);
      let chunk: Buffer | undefined = entry.chunk;
      if (cutoff && entry.events) {
        const rest = entry.events.filter((event) => isAfter(event, cutoff));
        if (rest.length === 0) chunk = undefined;
        else if (rest.length < entry.events.length) chunk = Buffer.from(encodeTopicBatch(rest).text);
      }
      if (chunk) {
        chunks.push(chunk);
        liveBytes += chunk.length;
      }
    }
    if (chunks.length === 0) return;
    this.backlog = { chunks, next: 0, liveBytes, since: Date.now() };
    this.pump();
  }

  /** Writes the backlog while the socket takes it; the rest goes when it drains. */
  private pump(): void {
    const backlog = this.backlog;
    const socket = this.socket;
    if (!backlog || !socket || this.closed) return;
    while (backlog.next < backlog.chunks.length) {
      if (socket.writableLength >= PACE_BYTES) {
        socket.once('drain', () => this.pump());
        return;
      }
      socket.write(backlog.chunks[backlog.next++] as Buffer);
    }
    this.backlog = undefined;
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
    if (this.backlog) {
      // Behind a catch-up being paced out: queued, and what it adds counts against the bound (so
      // does time: heartbeats keep coming, so a client that reads nothing meets the deadline).
      this.backlog.liveBytes += chunk.length;
      if (
        this.backlog.liveBytes + socket.writableLength > this.maxBufferedBytes ||
        Date.now() - this.backlog.since > BACKLOG_DEADLINE_MS
      ) {
        this.onSlow(this);
        this.backlog = undefined;
        this.end(encodeFrame('reconnect', JSON.stringify({ afterMs: 0 })));
        return false;
      }
      this.backlog.chunks.push(chunk);
      return true;
    }
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
    this.backlog = undefined;
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
    this.backlog = undefined;
  }
}

/** Whether an event comes after a cutoff (an id that is not a position id is never covered). */
function isAfter(event: TWireEvent, cutoff: Cutoff): boolean {
  const position = parsePositionId(event.id);
  return !position || position.epoch !== cutoff.epoch || position.pos > cutoff.pos;
}
