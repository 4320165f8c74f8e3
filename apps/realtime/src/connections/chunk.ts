/**
 * Bytes to write to many connections, prepared once.
 *
 * An SSE response over HTTP/1.1 is chunked: each write is wrapped as `<hex length>\r\n<bytes>\r\n`.
 * Node's ServerResponse does that wrapping on every `write` (three small writes, corked, per
 * call). Fan-out instead frames the payload once here and writes the framed buffer straight to
 * each socket: one `socket.write` per subscriber, no per-subscriber allocation.
 */
export interface Chunk {
  /** The SSE text as bytes (for a stream without chunked transfer-encoding). */
  readonly payload: Buffer;
  /** The same bytes inside HTTP/1.1 chunk framing. */
  readonly framed: Buffer;
}

const CRLF = Buffer.from('\r\n');

export function toChunk(text: string): Chunk {
  const payload = Buffer.from(text);
  const head = Buffer.from(`${payload.length.toString(16)}\r\n`);
  const framed = Buffer.concat([head, payload, CRLF]);
  return { payload: framed.subarray(head.length, head.length + payload.length), framed };
}
