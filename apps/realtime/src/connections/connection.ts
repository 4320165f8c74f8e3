import type { ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { encodeFrame } from '@ovation/shared';
import type { Chunk } from './chunk.js';

/**
 * One browser's SSE stream. State is kept to what fan-out needs: the response, its topics, and
 * its heartbeat slot (about 200 bytes of JS object plus the Set).
 *
 * Backpressure: bytes not yet accepted by the kernel sit in the response's buffer
 * (`writableLength`). Past `maxBufferedBytes` the client is too slow: it gets a `reconnect` frame
 * and is closed, so one stuck phone can neither grow this node's memory nor delay other viewers.
 */
export class Connection {
  readonly topics = new Set<string>();
  /** When this connection last reported latency samples (POST /latency is bounded per connection). */
  lastLatencyReportAt = 0;
  private closed = false;
  /**
   * Frames that arrived before the stream began (the node may already receive a topic's events
   * while this connection's registration is in flight); written right after `connected`.
   */
  private early: Chunk[] | undefined = [];
  private earlyBytes = 0;
  /** Once begun: the socket to write pre-framed chunks to, and whether it is chunked. */
  private socket: Socket | null = null;
  private chunked = false;

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

  /** Sends the response head and the first frame, then whatever arrived before. */
  begin(headers: Record<string, string>, firstFrame: string): void {
    if (this.closed || !this.early) return;
    const early = this.early;
    this.early = undefined;
    this.res.writeHead(200, headers);
    this.res.write(firstFrame);
    // Head and first frame went through ServerResponse (which decided on chunked framing); from
    // here on, frames go straight to the socket, framed the same way.
    this.socket = this.res.socket;
    this.chunked = this.res.chunkedEncoding;
    for (const chunk of early) this.write(chunk);
  }

  /** Writes prepared bytes; false when the connection is closed or was just closed as slow. */
  write(chunk: Chunk): boolean {
    if (this.closed) return false;
    if (this.early) {
      this.earlyBytes += chunk.payload.length;
      if (this.earlyBytes > this.maxBufferedBytes) {
        this.onSlow(this);
        this.closed = true;
        this.res.destroy();
        return false;
      }
      this.early.push(chunk);
      return true;
    }
    const socket = this.socket;
    const buffered = socket ? socket.writableLength : this.res.writableLength;
    if (buffered > this.maxBufferedBytes) {
      this.onSlow(this);
      this.end(encodeFrame('reconnect', JSON.stringify({ afterMs: 0 })));
      return false;
    }
    if (socket) socket.write(this.chunked ? chunk.framed : chunk.payload);
    else this.res.write(chunk.payload);
    return true;
  }

  /** Ends the stream after an optional last frame; a socket that cannot flush it is destroyed. */
  end(lastFrame?: string): void {
    if (this.closed) return;
    this.closed = true;
    if (this.early) {
      // Never begun: there is no stream to say goodbye on.
      this.res.destroy();
      return;
    }
    if (lastFrame) this.res.end(lastFrame);
    else this.res.end();
    const guard = setTimeout(() => this.res.destroy(), 5000);
    guard.unref();
    this.res.once('close', () => clearTimeout(guard));
  }

  /** Marks the connection closed after the client went away. */
  markClosed(): void {
    this.closed = true;
  }
}
