import { type AmfObject, encodeAmf0 } from './amf0.js';
import { encodeMessage, type RtmpMessage } from './chunk-writer.js';

/** RTMP message type ids (the chunk stream's message header carries one). */
export const MessageType = {
  SET_CHUNK_SIZE: 1,
  ABORT: 2,
  ACKNOWLEDGEMENT: 3,
  USER_CONTROL: 4,
  WINDOW_ACK_SIZE: 5,
  SET_PEER_BANDWIDTH: 6,
  AUDIO: 8,
  VIDEO: 9,
  DATA_AMF3: 15,
  COMMAND_AMF3: 17,
  DATA_AMF0: 18,
  COMMAND_AMF0: 20,
} as const;

/** Chunk streams we send on: protocol control must be on 2; commands and status on their own. */
const CONTROL_CHUNK_STREAM = 2;
const COMMAND_CHUNK_STREAM = 3;
const STATUS_CHUNK_STREAM = 5;

/** The chunk size we announce after connect (the default, 128, costs a header per 128 bytes). */
export const OUR_CHUNK_SIZE = 4096;
/** The window we announce, and the bandwidth we grant: what common servers send. */
export const OUR_WINDOW_BYTES = 2_500_000;
/** The stream id `createStream` hands out (one publish per connection). */
export const PUBLISH_STREAM_ID = 1;

function u32(value: number): Buffer {
  const out = Buffer.alloc(4);
  out.writeUInt32BE(value >>> 0);
  return out;
}

function control(type: number, payload: Buffer): RtmpMessage {
  return { chunkStreamId: CONTROL_CHUNK_STREAM, type, streamId: 0, timestamp: 0, payload };
}

export const setChunkSize = (size: number) => control(MessageType.SET_CHUNK_SIZE, u32(size));
export const windowAckSize = (bytes: number) => control(MessageType.WINDOW_ACK_SIZE, u32(bytes));
export const acknowledgement = (received: number) => control(MessageType.ACKNOWLEDGEMENT, u32(received));
/** Limit type 2: dynamic. */
export const setPeerBandwidth = (bytes: number) =>
  control(MessageType.SET_PEER_BANDWIDTH, Buffer.concat([u32(bytes), Buffer.of(2)]));
/** User Control event 0, Stream Begin, for `streamId`. */
export const streamBegin = (streamId: number) =>
  control(MessageType.USER_CONTROL, Buffer.concat([Buffer.of(0, 0), u32(streamId)]));

/** `_result` of a command, on the command chunk stream. */
export function commandResult(transactionId: number, ...values: Parameters<typeof encodeAmf0>): RtmpMessage {
  return {
    chunkStreamId: COMMAND_CHUNK_STREAM,
    type: MessageType.COMMAND_AMF0,
    streamId: 0,
    timestamp: 0,
    payload: encodeAmf0('_result', transactionId, ...values),
  };
}

export function connectResult(transactionId: number): RtmpMessage {
  return commandResult(
    transactionId,
    { fmsVer: 'FMS/3,0,1,123', capabilities: 31 },
    {
      level: 'status',
      code: 'NetConnection.Connect.Success',
      description: 'Connection succeeded.',
      objectEncoding: 0,
    },
  );
}

/** `onStatus` on the publish stream: how an encoder learns its publish started or was refused. */
export function onStatus(info: { level: 'status' | 'error'; code: string; description: string }): RtmpMessage {
  const body: AmfObject = { level: info.level, code: info.code, description: info.description };
  return {
    chunkStreamId: STATUS_CHUNK_STREAM,
    type: MessageType.COMMAND_AMF0,
    streamId: PUBLISH_STREAM_ID,
    timestamp: 0,
    payload: encodeAmf0('onStatus', 0, null, body),
  };
}

/** Several messages as one buffer (one socket write). */
export function encodeMessages(messages: RtmpMessage[], chunkSize: number): Buffer {
  return Buffer.concat(messages.map((message) => encodeMessage(message, chunkSize)));
}
