import type { FastifyBaseLogger } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '../../../test-support/poll.js';
import { AmfError, decodeAmf0, encodeAmf0 } from '../src/rtmp/amf0.js';
import { ChunkReader, MAX_CHUNK_SIZE, ProtocolError } from '../src/rtmp/chunk-reader.js';
import { encodeMessage, type RtmpMessage } from '../src/rtmp/chunk-writer.js';
import { PRE_AUTH_LIMITS, type PublishGate } from '../src/rtmp/connection.js';
import { MessageType } from '../src/rtmp/messages.js';
import { RtmpServer } from '../src/rtmp/server.js';
import { RtmpTestClient } from './rtmp-client.js';

/*
 * Seeded fuzzing: random bytes, mutated valid messages and truncated streams. The parser may only
 * answer with messages or its own error, and never hold more than one chunk; the server may only
 * close such a connection, and keeps serving others. The seed is fixed, so a failure reproduces.
 */

const SEED = 20261206;

/** mulberry32: a small seeded PRNG. */
function prng(seed: number) {
  let state = seed >>> 0;
  const next = () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (max: number) => Math.floor(next() * max);
  const bytes = (n: number) => Buffer.from(Array.from({ length: n }, () => int(256)));
  const mutate = (source: Buffer) => {
    const out = Buffer.from(source);
    const edits = 1 + int(4);
    for (let i = 0; i < edits && out.length > 0; i++) out[int(out.length)] = int(256);
    return out;
  };
  return { next, int, bytes, mutate };
}

/** A plausible client stream: a connect command, metadata and media on a few chunk streams. */
function validStream(random: ReturnType<typeof prng>): Buffer {
  const messages = [
    encodeMessage(
      {
        chunkStreamId: 3,
        type: MessageType.COMMAND_AMF0,
        streamId: 0,
        timestamp: 0,
        payload: encodeAmf0('connect', 1, { app: 'live', tcUrl: 'rtmp://x/live' }),
      },
      128,
    ),
  ];
  for (let i = 0; i < 6; i++) {
    const type = [MessageType.AUDIO, MessageType.VIDEO, MessageType.DATA_AMF0][random.int(3)] as number;
    messages.push(
      encodeMessage(
        {
          chunkStreamId: 4 + random.int(4),
          type,
          streamId: 1,
          timestamp: random.int(0x2000000),
          payload: random.bytes(random.int(600)),
        },
        128,
      ),
    );
  }
  return Buffer.concat(messages);
}

/**
 * Feeds `data` in random pieces; returns the messages read and the ProtocolError it ended on, if
 * any. Any other error fails the test.
 */
function feed(reader: ChunkReader, data: Buffer, random: ReturnType<typeof prng>) {
  const messages: RtmpMessage[] = [];
  let offset = 0;
  while (offset < data.length) {
    const end = Math.min(data.length, offset + 1 + random.int(700));
    try {
      messages.push(...reader.push(data.subarray(offset, end)));
    } catch (error) {
      if (error instanceof ProtocolError) return { messages, error };
      throw error;
    }
    // At most one incomplete chunk is held: a header and the largest chunk size.
    expect(reader.buffered).toBeLessThanOrEqual(MAX_CHUNK_SIZE + 18);
    offset = end;
  }
  return { messages, error: undefined };
}

describe('fuzzing the parsers', () => {
  it('the chunk reader answers random bytes with messages or a ProtocolError, holding at most one chunk', () => {
    const random = prng(SEED);
    let errors = 0;
    for (let i = 0; i < 1500; i++) {
      const reader = new ChunkReader(PRE_AUTH_LIMITS);
      const data = i % 3 === 0 ? random.bytes(random.int(4096)) : random.mutate(validStream(random));
      if (feed(reader, data, random).error) errors++;
    }
    // The fuzz must reach the error paths, not only pass bytes through.
    expect(errors).toBeGreaterThan(300);
  });

  it('a truncated valid stream gives a prefix of its messages and no error', () => {
    const random = prng(SEED + 1);
    for (let i = 0; i < 300; i++) {
      const stream = validStream(random);
      const whole = new ChunkReader({ maxMessageBytes: 1 << 20, maxChunkStreams: 8 }).push(stream);
      const cut = stream.subarray(0, random.int(stream.length));
      const reader = new ChunkReader({ maxMessageBytes: 1 << 20, maxChunkStreams: 8 });
      const { messages, error } = feed(reader, cut, random);
      expect(error).toBeUndefined();
      expect(messages).toEqual(whole.slice(0, messages.length));
      if (cut.length < stream.length) expect(messages.length).toBeLessThan(whole.length);
    }
  });

  it('AMF0 decoding answers random and mutated bytes with values or an AmfError', () => {
    const random = prng(SEED + 2);
    const command = encodeAmf0('connect', 1, { app: 'live', nested: { list: [1, 'two', null, new Date(3)] } }, 'x');
    let errors = 0;
    for (let i = 0; i < 5000; i++) {
      const bytes = i % 2 === 0 ? random.bytes(random.int(200)) : random.mutate(command);
      try {
        decodeAmf0(bytes);
      } catch (error) {
        if (!(error instanceof AmfError)) throw error;
        errors++;
      }
    }
    expect(errors).toBeGreaterThan(2000);
  });
});

describe('fuzzing the server', () => {
  const silent = { debug() {}, info() {}, warn() {}, error() {} } as unknown as FastifyBaseLogger;
  const gate: PublishGate = { publish: async () => ({ ok: false, reason: 'no' }) };
  let server: RtmpServer;

  beforeAll(async () => {
    server = new RtmpServer({ gate, log: silent, maxConnectionsPerAddress: 50, publishTimeoutMs: 500 });
    await server.listen('127.0.0.1', 0);
  });
  afterAll(() => server.closeAll('test over'));

  it('closes connections sending garbage or truncated streams, and keeps serving', async () => {
    const random = prng(SEED + 3);
    const clients = await Promise.all(
      Array.from({ length: 30 }, async (_, i) => {
        const client = await RtmpTestClient.handshaken(server.port);
        const data = i % 3 === 0 ? random.bytes(1 + random.int(3000)) : random.mutate(validStream(random));
        client.write(i % 3 === 2 ? data.subarray(0, random.int(data.length)) : data);
        return client;
      }),
    );
    // Each is closed: by a protocol error at once, or by the publish deadline (0.5 s here).
    await waitFor('every fuzzed connection to be closed', () => clients.every((c) => c.closed), { timeoutMs: 5000 });

    const after = await RtmpTestClient.handshaken(server.port);
    after.command('connect', 1, { app: 'live' });
    await waitFor('a connect answered after the fuzzing', () => after.commands().some((c) => c[0] === '_result'));
    after.close();
  });
});
