import type { ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { encodeFrame } from '@ovation/shared';

/**
 * One browser's SSE stream.
 *
 * Memory is the budget here (19,000 of these per process): the state is the socket, a small
 * exact-size array of topics, a heartbeat slot and two numbers. The response head is one Buffer
 * shared by every connection (see stream-head.ts) written straight to the socket, and frames follow
 * it unframed: the stream is delimited by the connection closing, so there is no chunked encoding
 * to apply per write and no per-connection header string for Node to keep.
 *
 * Backpressure: bytes the kernel has not taken yet sit in the socket's buffer (`writableLength`).
 * Past `maxBufferedBytes` the client is too slow: it gets a `reconnect` frame and is closed, so
 * one stuck phone can neither grow this node's memory nor delay other viewers.
 */
export class Connection {
  /** Topics this connection is subscribed to (replaced, never grown in place: stays exact-size). */
  topics: readonly string[] = [];
  /** When this connection last reported latency samples (POST /latency is bounded per connection). */
  lastLatencyReportAt = 0;
  private closed = false;
  private socket: Socket | null = null;
  /**
   * Frames that arrived before the stream began (the node may already receive a topic's events
   * while this connection's registration is in flight); written right after the first frame.
   */
  private early: Buffer[] | undefined;
  private earlyBytes = 0;

  constructor(
    readonly id: string,
    private readonly res: ServerResponse,
    readonly slot: number,
    private readonly maxBufferedBytes: number,
    private readonly onSlow: (connection: Connection) => void,
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

  /** Sends the response head and the first frame, then whatever arrived before. */
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
    const early = this.early;
    this.early = undefined;
    for (const chunk of early ?? []) this.write(chunk);
  }

  /** Writes prepared bytes; false when the connection is closed or was just closed as slow. */
  write(chunk: Buffer): boolean {
    if (this.closed) return false;
    const socket = this.socket;
    if (!socket) {
      this.earlyBytes += chunk.length;
      if (this.earlyBytes > this.maxBufferedBytes) {
        this.onSlow(this);
        this.closed = true;
        this.res.destroy();
        return false;
      }
      this.early ??= [];
      this.early.push(chunk);
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

  /** Ends the stream after an optional last frame; a socket that cannot flush it is destroyed. */
  end(lastFrame?: string): void {
    if (this.closed) return;
    this.closed = true;
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
  }
}
