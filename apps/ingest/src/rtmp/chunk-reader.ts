import type { RtmpMessage } from './chunk-writer.js';
import { MessageType } from './messages.js';

/*
 * The RTMP chunk stream, read side: bytes in, whole messages out. A message is cut into chunks of
 * at most `chunkSize` bytes, each with a 1-3 byte basic header (fmt, chunk stream id) and a message
 * header of 11, 7, 3 or 0 bytes (fmt 0-3) that leaves out what is the same as that chunk stream's
 * previous message; a timestamp field of 0xFFFFFF means 4 bytes of extended timestamp follow.
 *
 * What a client can make us hold is bounded: the bytes of one incomplete chunk (at most the
 * largest chunk size we accept plus a header), messages of at most `maxMessageBytes` each and,
 * over all chunk streams together, at most `maxMessageBytes` + 64 KiB of messages being assembled,
 * on at most `maxChunkStreams` chunk streams. A message's buffer is allocated when its first chunk
 * has arrived whole, never from a claimed length alone beyond those bounds.
 */

export class ProtocolError extends Error {
  override name = 'ProtocolError';
}

export interface ChunkLimits {
  maxMessageBytes: number;
  maxChunkStreams: number;
}

/** Set Chunk Size may ask for 1..MAX_CHUNK_SIZE; larger is refused (the spec allows 2^31 - 1). */
export const MAX_CHUNK_SIZE = 65_536;
const DEFAULT_CHUNK_SIZE = 128;
const EXTENDED = 0xffffff;
const HEADER_BYTES = [11, 7, 3, 0] as const;
/** Room beside one large message for small ones interleaved on other chunk streams. */
const INTERLEAVE_BYTES = 64 * 1024;
const EMPTY = Buffer.alloc(0);
/** Commands, metadata and control messages are at most this big, before and after a publish. */
export const MAX_CONTROL_BYTES = 64 * 1024;

interface ChunkStream {
  /** The timestamp of the last message begun on this chunk stream. */
  timestamp: number;
  /** The last timestamp field (absolute for fmt 0, else a delta): a fmt 3 message adds it again. */
  timestampField: number;
  /** Whether the last full header had an extended timestamp (its fmt 3 chunks carry it too). */
  extended: boolean;
  length: number;
  type: number;
  streamId: number;
  /** The message being assembled, and how much of it has arrived. */
  message: Buffer | undefined;
  received: number;
}

export class ChunkReader {
  private chunkSize = DEFAULT_CHUNK_SIZE;
  private pending: Buffer = EMPTY;
  /** What has come since the last complete chunk, and its length (joined once `wanted` is reached). */
  private pieces: Buffer[] = [];
  private piecesLength = 0;
  /** Bytes the unfinished chunk needs at least (0: try at once). */
  private wanted = 0;
  private readonly streams = new Map<number, ChunkStream>();
  /** Bytes allocated for messages being assembled, over all chunk streams. */
  private assembling = 0;

  constructor(private limits: ChunkLimits) {}

  /** Raises (after authorization) or lowers the bounds for messages begun from now on. */
  setLimits(limits: ChunkLimits): void {
    this.limits = limits;
  }

  /** Bytes held back waiting for the rest of a chunk. */
  get buffered(): number {
    return this.piecesLength;
  }

  /**
   * Reads what `data` completes. Set Chunk Size and Abort are applied here, in stream order (the
   * chunks after them in the same bytes depend on them), and not returned. Throws ProtocolError.
   */
  push(data: Buffer): RtmpMessage[] {
    // Pieces of an unfinished chunk are only kept until as many bytes as it needs have come: a
    // chunk trickled a byte at a time is joined once, not copied again with every byte.
    this.pieces.push(data);
    this.piecesLength += data.length;
    if (this.piecesLength < this.wanted) return [];
    const buffer = this.pieces.length === 1 ? data : Buffer.concat(this.pieces, this.piecesLength);
    const messages: RtmpMessage[] = [];
    let offset = 0;
    this.wanted = 0;
    for (;;) {
      const consumed = this.readChunk(buffer, offset, messages);
      if (consumed === 0) break;
      offset += consumed;
    }
    // A copy, so the rest of a large socket read is not kept alive for a few bytes.
    this.pending = offset < buffer.length ? Buffer.from(buffer.subarray(offset)) : EMPTY;
    this.pieces = this.pending.length > 0 ? [this.pending] : [];
    this.piecesLength = this.pending.length;
    return messages;
  }

  /** Reads one chunk at `offset`; returns the bytes it took, or 0 when it has not all arrived. */
  private readChunk(buffer: Buffer, start: number, out: RtmpMessage[]): number {
    let p = start;
    // When the chunk has not all arrived: how many bytes from its start it needs (at least).
    const available = (bytes: number) => {
      if (p + bytes <= buffer.length) return true;
      this.wanted = p + bytes - start;
      return false;
    };
    if (!available(1)) return 0;
    const first = buffer[p++] as number;
    const fmt = first >> 6;
    let chunkStreamId = first & 0x3f;
    if (chunkStreamId === 0) {
      if (!available(1)) return 0;
      chunkStreamId = 64 + (buffer[p++] as number);
    } else if (chunkStreamId === 1) {
      if (!available(2)) return 0;
      chunkStreamId = 64 + buffer.readUInt16LE(p);
      p += 2;
    }

    const stream = this.streams.get(chunkStreamId);
    if (!stream) {
      if (fmt !== 0) throw new ProtocolError(`chunk stream ${chunkStreamId} began without a full header (fmt ${fmt})`);
      if (this.streams.size >= this.limits.maxChunkStreams) {
        throw new ProtocolError(`more than ${this.limits.maxChunkStreams} chunk streams`);
      }
    }
    if (stream?.message && fmt !== 3) {
      throw new ProtocolError(`a new message header on chunk stream ${chunkStreamId} before its message ended`);
    }

    const headerBytes = HEADER_BYTES[fmt] as number;
    if (!available(headerBytes)) return 0;
    let field = stream?.timestampField ?? 0;
    let length = stream?.length ?? 0;
    let type = stream?.type ?? 0;
    let streamId = stream?.streamId ?? 0;
    if (fmt <= 2) field = buffer.readUIntBE(p, 3);
    if (fmt <= 1) {
      length = buffer.readUIntBE(p + 3, 3);
      type = buffer[p + 6] as number;
    }
    if (fmt === 0) streamId = buffer.readUInt32LE(p + 7);
    p += headerBytes;

    const extended = fmt <= 2 ? field === EXTENDED : (stream?.extended ?? false);
    if (extended) {
      if (!available(4)) return 0;
      const value = buffer.readUInt32BE(p);
      p += 4;
      // A fmt 3 chunk repeats the extended timestamp; it only matters when it begins a message.
      if (fmt <= 2 || !stream?.message) field = value;
    }

    if (stream?.message) {
      const size = Math.min(this.chunkSize, stream.length - stream.received);
      if (!available(size)) return 0;
      buffer.copy(stream.message, stream.received, p, p + size);
      stream.received += size;
      if (stream.received === stream.length) {
        const payload = stream.message;
        stream.message = undefined;
        this.assembling -= stream.length;
        this.deliver({ chunkStreamId, type, streamId, timestamp: stream.timestamp, payload }, out);
      }
      return p + size - start;
    }

    if (length > this.limits.maxMessageBytes) {
      throw new ProtocolError(`a message of ${length} bytes (at most ${this.limits.maxMessageBytes} here)`);
    }
    // Only media may be large: commands and metadata are small whatever the state.
    if (type !== MessageType.AUDIO && type !== MessageType.VIDEO && length > MAX_CONTROL_BYTES) {
      throw new ProtocolError(`a type ${type} message of ${length} bytes (at most ${MAX_CONTROL_BYTES})`);
    }
    const size = Math.min(this.chunkSize, length);
    if (!available(size)) return 0;
    if (size < length && this.assembling + length > this.limits.maxMessageBytes + INTERLEAVE_BYTES) {
      throw new ProtocolError('too many bytes of unfinished messages');
    }

    const timestamp = fmt === 0 ? field : ((stream?.timestamp ?? 0) + field) >>> 0;
    const next: ChunkStream = stream ?? {
      timestamp,
      timestampField: field,
      extended,
      length,
      type,
      streamId,
      message: undefined,
      received: 0,
    };
    Object.assign(next, { timestamp, timestampField: field, extended, length, type, streamId });
    if (!stream) this.streams.set(chunkStreamId, next);

    if (size === length) {
      const payload = Buffer.from(buffer.subarray(p, p + size));
      this.deliver({ chunkStreamId, type, streamId, timestamp, payload }, out);
    } else {
      next.message = Buffer.allocUnsafe(length);
      buffer.copy(next.message, 0, p, p + size);
      next.received = size;
      this.assembling += length;
    }
    return p + size - start;
  }

  private deliver(message: RtmpMessage, out: RtmpMessage[]): void {
    if (message.type === MessageType.SET_CHUNK_SIZE) {
      if (message.payload.length < 4) throw new ProtocolError('Set Chunk Size without its 4 bytes');
      const size = message.payload.readUInt32BE(0);
      if (size < 1 || size > MAX_CHUNK_SIZE) {
        throw new ProtocolError(`Set Chunk Size ${size} (1..${MAX_CHUNK_SIZE} accepted)`);
      }
      this.chunkSize = size;
      return;
    }
    if (message.type === MessageType.ABORT) {
      if (message.payload.length < 4) throw new ProtocolError('Abort without its 4 bytes');
      const aborted = this.streams.get(message.payload.readUInt32BE(0));
      if (aborted?.message) {
        this.assembling -= aborted.length;
        aborted.message = undefined;
        aborted.received = 0;
      }
      return;
    }
    out.push(message);
  }
}
