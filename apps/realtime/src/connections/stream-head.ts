/** Distinct origins whose heads are kept; others get a head built for the request (CORS_ORIGINS=*). */
const MAX_CACHED_HEADS = 64;

/**
 * The HTTP response head of an SSE stream, built once per distinct CORS origin and shared by every
 * connection from it. `Connection: close` delimits the body by the end of the connection (RFC 9112
 * §6.3), so frames need no chunked framing; an EventSource never reuses the connection anyway.
 * The cache is bounded: with `CORS_ORIGINS=*` every origin a client names is allowed.
 */
export class StreamHeads {
  private readonly heads = new Map<string, Buffer>();
  private readonly plain: Buffer;

  constructor(private readonly corsHeaders: (origin: string | undefined) => Record<string, string>) {
    this.plain = StreamHeads.build({});
  }

  /** The head for a request from `origin` (only allowed origins get, and are cached with, CORS headers). */
  for(origin: string | undefined): Buffer {
    const cors = this.corsHeaders(origin);
    if (origin === undefined || Object.keys(cors).length === 0) return this.plain;
    let head = this.heads.get(origin);
    if (!head) {
      head = StreamHeads.build(cors);
      if (this.heads.size < MAX_CACHED_HEADS) this.heads.set(origin, head);
    }
    return head;
  }

  /** Heads kept (tests). */
  get cached(): number {
    return this.heads.size;
  }

  private static build(extra: Record<string, string>): Buffer {
    const headers: Record<string, string> = {
      'Content-Type': 'text/event-stream',
      'Cache-Control': 'no-cache',
      Connection: 'close',
      'X-Accel-Buffering': 'no',
      ...extra,
    };
    const lines = Object.entries(headers).map(([name, value]) => `${name}: ${value}\r\n`);
    return Buffer.from(`HTTP/1.1 200 OK\r\n${lines.join('')}\r\n`, 'latin1');
  }
}
