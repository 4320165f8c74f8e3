/** One RTMP message, as the chunk stream carries it. */
export interface RtmpMessage {
  chunkStreamId: number;
  type: number;
  /** The message stream (0: the connection's control; 1: the published stream). */
  streamId: number;
  /** Milliseconds, 32 bits. */
  timestamp: number;
  payload: Buffer;
}

const EXTENDED = 0xffffff;

/** The basic header: fmt and the chunk stream id in 1, 2 or 3 bytes. */
export function basicHeader(fmt: number, chunkStreamId: number): Buffer {
  if (chunkStreamId < 2 || chunkStreamId > 65599) throw new RangeError(`chunk stream id ${chunkStreamId}`);
  if (chunkStreamId < 64) return Buffer.of((fmt << 6) | chunkStreamId);
  if (chunkStreamId < 320) return Buffer.of(fmt << 6, chunkStreamId - 64);
  const rest = chunkStreamId - 64;
  return Buffer.of((fmt << 6) | 1, rest & 0xff, rest >> 8);
}

/**
 * A message as chunks: a type 0 header, then type 3 headers every `chunkSize` bytes (repeating the
 * extended timestamp, as ffmpeg and librtmp expect).
 */
export function encodeMessage(message: RtmpMessage, chunkSize: number): Buffer {
  const timestamp = message.timestamp >>> 0;
  const extended = timestamp >= EXTENDED;
  const header = Buffer.alloc(11);
  header.writeUIntBE(extended ? EXTENDED : timestamp, 0, 3);
  header.writeUIntBE(message.payload.length, 3, 3);
  header[6] = message.type;
  header.writeUInt32LE(message.streamId, 7);
  const extendedBytes = extended ? u32(timestamp) : Buffer.alloc(0);

  const parts: Buffer[] = [basicHeader(0, message.chunkStreamId), header, extendedBytes];
  let offset = 0;
  do {
    if (offset > 0) parts.push(basicHeader(3, message.chunkStreamId), extendedBytes);
    const end = Math.min(offset + chunkSize, message.payload.length);
    parts.push(message.payload.subarray(offset, end));
    offset = end;
  } while (offset < message.payload.length);
  return Buffer.concat(parts);
}

function u32(value: number): Buffer {
  const out = Buffer.alloc(4);
  out.writeUInt32BE(value);
  return out;
}
