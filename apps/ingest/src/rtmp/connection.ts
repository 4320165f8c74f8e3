import type { Socket } from 'node:net';
import type { FastifyBaseLogger } from 'fastify';
import { AmfError, type AmfValue, decodeAmf0, decodeAmf0Value, propertiesOf } from './amf0.js';
import { type ChunkLimits, ChunkReader, ProtocolError } from './chunk-reader.js';
import type { RtmpMessage } from './chunk-writer.js';
import { Handshake } from './handshake.js';
import {
  acknowledgement,
  commandResult,
  connectResult,
  encodeMessages,
  MessageType,
  OUR_CHUNK_SIZE,
  OUR_WINDOW_BYTES,
  onStatus,
  PUBLISH_STREAM_ID,
  setChunkSize,
  setPeerBandwidth,
  streamBegin,
  windowAckSize,
} from './messages.js';
import { readStreamMetadata, type StreamMetadata } from './metadata.js';

/*
 * One encoder's connection, from the handshake to the end of its publish:
 *
 *   handshake → connect → (releaseStream, FCPublish) → createStream → publish(key)
 *     → the gate asks the web about the key ─ refused → onStatus BadName, closed
 *                                            └ accepted → onStatus Publish.Start, media to the sink
 *
 * Until the publish is accepted a connection is a stranger's: it gets PUBLISH_TIMEOUT_MS to get
 * there, messages of at most 64 KiB, and no media. After, messages may be 8 MiB (a keyframe).
 * Anything the protocol does not allow closes the connection (logged at debug: strangers can make
 * as many as they like); nothing a client sends can throw out of here.
 */

export const PRE_AUTH_LIMITS: ChunkLimits = { maxMessageBytes: 64 * 1024, maxChunkStreams: 8 };
export const PUBLISHING_LIMITS: ChunkLimits = { maxMessageBytes: 8 * 1024 * 1024, maxChunkStreams: 8 };
export const PUBLISH_TIMEOUT_MS = 10_000;
/**
 * Our replies a peer may leave unread (it never reads its socket): past this the connection is
 * closed, or a peer could grow our write buffer without bound by asking and never reading.
 */
export const MAX_UNREAD_REPLY_BYTES = { beforePublish: 64 * 1024, publishing: 1024 * 1024 };
/** The smallest acknowledgement window we honour: a tiny one would make us answer every read. */
const MIN_PEER_WINDOW_BYTES = 64 * 1024;
/** How long a connection we end gets to take our last words before it is cut. */
const LINGER_MS = 2000;

/** Where an accepted publish's media goes (publish-session.ts). */
export interface PublishSink {
  metadata(metadata: StreamMetadata, scriptBody: Buffer): void;
  media(kind: 'audio' | 'video', timestamp: number, payload: Buffer): void;
  /** The publish is over (unpublished, connection closed, or ended by us); called once or more. */
  end(reason: string): void;
}

/** What a publish session may know of and do to its connection. */
export interface PublisherConnection {
  readonly address: string;
  readonly connectedAt: Date;
  readonly open: boolean;
  close(reason: string): void;
}

export type PublishAnswer = { ok: true; sink: PublishSink } | { ok: false; reason: string };

/** Decides on a publish (publishers.ts: the web, the limits). */
export interface PublishGate {
  publish(streamKey: string, connection: PublisherConnection): Promise<PublishAnswer>;
}

export interface ConnectionOptions {
  gate: PublishGate;
  log: FastifyBaseLogger;
  publishTimeoutMs?: number;
  /** The publish was accepted: the connection is no stranger's any more. */
  onAccepted(): void;
  onClose(): void;
}

type State = 'handshake' | 'connecting' | 'connected' | 'authorizing' | 'publishing' | 'closed';

export class RtmpConnection implements PublisherConnection {
  readonly connectedAt = new Date();
  private state: State = 'handshake';
  private readonly handshake = new Handshake();
  private readonly reader = new ChunkReader(PRE_AUTH_LIMITS);
  private outChunkSize = 128;
  private sink: PublishSink | undefined;
  /** onMetaData sent before the publish was accepted, handed to the sink then. */
  private earlyMetadata: { metadata: StreamMetadata; scriptBody: Buffer } | undefined;
  private bytesReceived = 0;
  private peerWindow = 0;
  private lastAcknowledged = 0;
  private readonly publishTimer: NodeJS.Timeout;

  constructor(
    private readonly socket: Socket,
    readonly address: string,
    private readonly options: ConnectionOptions,
  ) {
    socket.setNoDelay(true);
    socket.on('data', (data: Buffer) => this.onData(data));
    socket.on('error', (error) => options.log.debug({ address, err: error.message }, 'rtmp socket error'));
    socket.on('close', () => this.onSocketClose());
    this.publishTimer = setTimeout(() => {
      if (this.state !== 'publishing') this.fail(new ProtocolError('no accepted publish within the time allowed'));
    }, options.publishTimeoutMs ?? PUBLISH_TIMEOUT_MS);
  }

  get open(): boolean {
    return this.state !== 'closed';
  }

  /** Ends the connection, letting our last messages (an onStatus) reach the encoder first. */
  close(reason: string): void {
    if (this.state === 'closed') return;
    this.markClosed(reason);
    this.socket.end();
    setTimeout(() => this.socket.destroy(), LINGER_MS).unref();
  }

  private fail(error: unknown): void {
    if (this.state === 'closed') return;
    const message = error instanceof Error ? error.message : String(error);
    this.options.log.debug({ address: this.address, err: message }, 'rtmp connection closed on a protocol error');
    this.markClosed(`protocol error: ${message}`);
    this.socket.destroy();
  }

  private markClosed(reason: string): void {
    this.state = 'closed';
    clearTimeout(this.publishTimer);
    this.sink?.end(reason);
  }

  private onSocketClose(): void {
    if (this.state !== 'closed') this.markClosed('the encoder closed the connection');
    this.options.onClose();
  }

  private onData(data: Buffer): void {
    if (this.state === 'closed') return;
    try {
      this.bytesReceived += data.length;
      let chunks: Buffer | undefined = data;
      if (this.state === 'handshake') {
        const { reply, rest } = this.handshake.push(data);
        if (reply) this.socket.write(reply);
        if (!this.handshake.done) return;
        this.state = 'connecting';
        chunks = rest;
      }
      if (chunks && chunks.length > 0) {
        for (const message of this.reader.push(chunks)) {
          this.handle(message);
          if (!this.open) return;
        }
      }
      this.acknowledge();
    } catch (error) {
      this.fail(error);
    }
  }

  /** Acknowledgements as the client's window asks (encoders ignore them, but the protocol has them). */
  private acknowledge(): void {
    if (this.peerWindow > 0 && this.bytesReceived - this.lastAcknowledged >= this.peerWindow) {
      this.lastAcknowledged = this.bytesReceived;
      this.send([acknowledgement(this.bytesReceived)]);
    }
  }

  private send(messages: RtmpMessage[]): void {
    if (this.state === 'closed') return;
    this.socket.write(encodeMessages(messages, this.outChunkSize));
    const most = this.state === 'publishing' ? MAX_UNREAD_REPLY_BYTES.publishing : MAX_UNREAD_REPLY_BYTES.beforePublish;
    // Closed at once (destroyed: what is buffered is dropped), from any caller, async ones too.
    if (this.socket.writableLength > most)
      this.fail(new ProtocolError(`over ${most} bytes of our replies left unread`));
  }

  private handle(message: RtmpMessage): void {
    switch (message.type) {
      case MessageType.WINDOW_ACK_SIZE:
        if (message.payload.length < 4) throw new ProtocolError('Window Acknowledgement Size without its 4 bytes');
        this.peerWindow = Math.max(MIN_PEER_WINDOW_BYTES, message.payload.readUInt32BE(0));
        return;
      case MessageType.COMMAND_AMF0:
        this.command(decodeAmf0(message.payload));
        return;
      case MessageType.COMMAND_AMF3:
        throw new ProtocolError('AMF3 commands are not spoken here');
      case MessageType.DATA_AMF0:
        this.data(message.payload);
        return;
      case MessageType.DATA_AMF3:
        // An AMF3 data message whose values are AMF0 after a 0 byte (what Flash-era encoders send).
        if (message.payload[0] === 0 && message.payload.length > 1) this.data(message.payload.subarray(1));
        return;
      case MessageType.AUDIO:
      case MessageType.VIDEO:
        if (this.state !== 'publishing' || !this.sink) throw new ProtocolError('media before an accepted publish');
        if (message.payload.length > 0) {
          this.sink.media(message.type === MessageType.AUDIO ? 'audio' : 'video', message.timestamp, message.payload);
        }
        return;
      default:
        // Acknowledgement, User Control, Set Peer Bandwidth, aggregates: nothing to do.
        return;
    }
  }

  private command(values: AmfValue[]): void {
    const [name, transaction] = values;
    if (typeof name !== 'string') throw new ProtocolError('a command without a name');
    const transactionId = typeof transaction === 'number' && Number.isFinite(transaction) ? transaction : 0;
    if (name === 'connect') {
      if (this.state !== 'connecting') throw new ProtocolError('connect twice');
      this.state = 'connected';
      this.send([windowAckSize(OUR_WINDOW_BYTES), setPeerBandwidth(OUR_WINDOW_BYTES), setChunkSize(OUR_CHUNK_SIZE)]);
      this.outChunkSize = OUR_CHUNK_SIZE;
      this.send([connectResult(transactionId)]);
      return;
    }
    if (this.state === 'connecting') throw new ProtocolError(`${name} before connect`);
    switch (name) {
      case 'releaseStream':
      case 'FCPublish':
        this.send([commandResult(transactionId, null, undefined)]);
        return;
      case 'createStream':
        this.send([commandResult(transactionId, null, PUBLISH_STREAM_ID)]);
        return;
      case 'publish': {
        if (this.state !== 'connected') throw new ProtocolError('a second publish on one connection');
        const streamKey = values[3];
        if (typeof streamKey !== 'string') throw new ProtocolError('publish without a stream name');
        this.state = 'authorizing';
        this.authorize(streamKey);
        return;
      }
      case 'FCUnpublish':
      case 'deleteStream':
      case 'closeStream':
        if (this.state === 'publishing') this.close('the encoder unpublished');
        return;
      case 'play':
        throw new ProtocolError('play: this server only takes publishes');
      default:
        // _checkbw, getStreamLength and the like: no answer is expected of a publish-only server.
        return;
    }
  }

  private authorize(streamKey: string): void {
    this.options.gate.publish(streamKey, this).then(
      (answer) => this.answered(answer),
      (error: unknown) => {
        this.options.log.error({ err: error }, 'publish gate failed');
        this.answered({ ok: false, reason: 'ingest error' });
      },
    );
  }

  private answered(answer: PublishAnswer): void {
    if (this.state !== 'authorizing') {
      if (answer.ok) answer.sink.end('the connection closed before its publish began');
      return;
    }
    if (!answer.ok) {
      this.send([onStatus({ level: 'error', code: 'NetStream.Publish.BadName', description: answer.reason })]);
      this.close(`publish refused: ${answer.reason}`);
      return;
    }
    this.sink = answer.sink;
    this.state = 'publishing';
    clearTimeout(this.publishTimer);
    this.reader.setLimits(PUBLISHING_LIMITS);
    this.options.onAccepted();
    this.send([
      streamBegin(PUBLISH_STREAM_ID),
      onStatus({ level: 'status', code: 'NetStream.Publish.Start', description: 'Publishing.' }),
    ]);
    if (this.earlyMetadata) this.sink.metadata(this.earlyMetadata.metadata, this.earlyMetadata.scriptBody);
    this.earlyMetadata = undefined;
  }

  /** `@setDataFrame onMetaData {…}` (ffmpeg, OBS) or a bare `onMetaData {…}`; other data is ignored. */
  private data(payload: Buffer): void {
    let scriptStart = 0;
    let next = decodeAmf0Value(payload, 0);
    if (next.value === '@setDataFrame') {
      scriptStart = next.offset;
      next = decodeAmf0Value(payload, next.offset);
    }
    if (next.value !== 'onMetaData') return;
    const properties = propertiesOf(decodeAmf0Value(payload, next.offset).value);
    if (!properties) throw new AmfError('onMetaData without an object');
    const metadata = readStreamMetadata(properties);
    // The FLV script tag is `onMetaData {…}`: the message without `@setDataFrame`.
    const scriptBody = payload.subarray(scriptStart);
    if (this.sink) this.sink.metadata(metadata, scriptBody);
    else this.earlyMetadata = { metadata, scriptBody };
  }
}
