import { randomBytes } from 'node:crypto';
import { connect, type Socket } from 'node:net';
import { waitFor } from '../../../test-support/poll.js';
import { type AmfObject, type AmfValue, decodeAmf0, encodeAmf0 } from '../src/rtmp/amf0.js';
import { ChunkReader } from '../src/rtmp/chunk-reader.js';
import { encodeMessage, type RtmpMessage } from '../src/rtmp/chunk-writer.js';
import { HANDSHAKE_SIZE } from '../src/rtmp/handshake.js';
import { MessageType } from '../src/rtmp/messages.js';

/**
 * An RTMP client for tests, written against the protocol rather than against the server: it sends
 * what a test says (valid or not), parses what comes back, and knows when the server hung up.
 */
export class RtmpTestClient {
  readonly received: RtmpMessage[] = [];
  /** S0 + S1 + S2 as received. */
  serverHandshake: Buffer = Buffer.alloc(0);
  readonly c1 = randomBytes(HANDSHAKE_SIZE);
  closed = false;
  readonly whenClosed: Promise<void>;
  private readonly reader = new ChunkReader({ maxMessageBytes: 1 << 24, maxChunkStreams: 64 });
  private chunkSize = 128;

  private constructor(readonly socket: Socket) {
    this.whenClosed = new Promise((resolve) =>
      socket.once('close', () => {
        this.closed = true;
        resolve();
      }),
    );
    socket.on('error', () => {});
    socket.on('data', (data: Buffer) => {
      let rest = data;
      if (this.serverHandshake.length < 1 + 2 * HANDSHAKE_SIZE) {
        const need = 1 + 2 * HANDSHAKE_SIZE - this.serverHandshake.length;
        this.serverHandshake = Buffer.concat([this.serverHandshake, data.subarray(0, need)]);
        rest = data.subarray(need);
      }
      if (rest.length > 0) this.received.push(...this.reader.push(rest));
    });
  }

  static async open(port: number): Promise<RtmpTestClient> {
    const socket = connect(port, '127.0.0.1');
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('error', reject);
    });
    return new RtmpTestClient(socket);
  }

  /** Opens a connection and does the handshake. */
  static async handshaken(port: number): Promise<RtmpTestClient> {
    const client = await RtmpTestClient.open(port);
    await client.handshake();
    return client;
  }

  async handshake(): Promise<void> {
    this.write(Buffer.concat([Buffer.of(3), this.c1]));
    await waitFor('S0 S1 S2', () => this.serverHandshake.length === 1 + 2 * HANDSHAKE_SIZE || this.closed);
    if (this.closed) throw new Error('closed during the handshake');
    this.write(this.serverHandshake.subarray(1, 1 + HANDSHAKE_SIZE)); // C2 = S1
  }

  write(bytes: Buffer): void {
    if (!this.socket.destroyed) this.socket.write(bytes);
  }

  send(message: Omit<RtmpMessage, 'chunkStreamId'> & { chunkStreamId?: number }): void {
    this.write(encodeMessage({ chunkStreamId: 3, ...message }, this.chunkSize));
  }

  /** Set Chunk Size, then sends with it. */
  setChunkSize(size: number): void {
    const payload = Buffer.alloc(4);
    payload.writeUInt32BE(size);
    this.send({ chunkStreamId: 2, type: MessageType.SET_CHUNK_SIZE, streamId: 0, timestamp: 0, payload });
    this.chunkSize = size;
  }

  command(name: string, transactionId: number, ...args: AmfValue[]): void {
    this.send({
      type: MessageType.COMMAND_AMF0,
      streamId: 0,
      timestamp: 0,
      payload: encodeAmf0(name, transactionId, ...args),
    });
  }

  media(kind: 'audio' | 'video', timestamp: number, payload: Buffer): void {
    this.send({
      chunkStreamId: kind === 'audio' ? 4 : 6,
      type: kind === 'audio' ? MessageType.AUDIO : MessageType.VIDEO,
      streamId: 1,
      timestamp,
      payload,
    });
  }

  /** Commands received, decoded. */
  commands(): AmfValue[][] {
    return this.received.filter((m) => m.type === MessageType.COMMAND_AMF0).map((m) => decodeAmf0(m.payload));
  }

  /** The onStatus info objects received. */
  statuses(): AmfObject[] {
    return this.commands()
      .filter((values) => values[0] === 'onStatus')
      .map((values) => values[3] as AmfObject);
  }

  /** connect, releaseStream, FCPublish, createStream, publish — as ffmpeg does; resolves with the onStatus. */
  async publish(streamKey: string): Promise<AmfObject> {
    this.command('connect', 1, { app: 'live', type: 'nonprivate', tcUrl: 'rtmp://127.0.0.1/live' });
    this.command('releaseStream', 2, null, streamKey);
    this.command('FCPublish', 3, null, streamKey);
    this.command('createStream', 4, null);
    await waitFor('createStream _result', () => this.commands().some((c) => c[0] === '_result' && c[1] === 4));
    this.send({
      chunkStreamId: 8,
      type: MessageType.COMMAND_AMF0,
      streamId: 1,
      timestamp: 0,
      payload: encodeAmf0('publish', 5, null, streamKey, 'live'),
    });
    return waitFor('onStatus', () => this.statuses()[0]);
  }

  close(): void {
    this.socket.destroy();
  }
}

/** A video tag body: H.264 (codec 7), keyframe or not, AVC packet type 1 (a coded frame). */
export function h264Frame(keyframe: boolean, size = 100): Buffer {
  const body = Buffer.alloc(Math.max(size, 5));
  body[0] = ((keyframe ? 1 : 2) << 4) | 7;
  body[1] = 1;
  return body;
}

/** An audio tag body: AAC (codec 10), raw frame. */
export function aacFrame(size = 50): Buffer {
  const body = Buffer.alloc(Math.max(size, 2));
  body[0] = 0xaf;
  body[1] = 1;
  return body;
}
