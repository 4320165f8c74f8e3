import { describe, expect, it, vi } from 'vitest';
import { ChunkReader, MAX_CHUNK_SIZE, ProtocolError } from '../src/rtmp/chunk-reader.js';
import { basicHeader, encodeMessage } from '../src/rtmp/chunk-writer.js';
import { HANDSHAKE_SIZE, Handshake } from '../src/rtmp/handshake.js';

const hex = (text: string) => Buffer.from(text.replace(/\s+/g, ''), 'hex');
const bytes = (n: number, fill: number) => Buffer.alloc(n, fill);
const reader = (maxMessageBytes = 1 << 20, maxChunkStreams = 8) =>
  new ChunkReader({ maxMessageBytes, maxChunkStreams });

describe('chunk stream, from bytes built by hand', () => {
  it('reads a fmt 0 message with a 1-byte basic header', () => {
    // fmt 0, csid 3 | ts 000064 | length 000003 | type 14 | stream id 1 (little-endian) | payload
    const [message, ...rest] = reader().push(hex('03 000064 000003 14 01000000 616263'));
    expect(rest).toEqual([]);
    expect(message).toEqual({
      chunkStreamId: 3,
      type: 20,
      streamId: 1,
      timestamp: 100,
      payload: Buffer.from('abc'),
    });
  });

  it('reads 2- and 3-byte chunk stream ids', () => {
    const two = reader().push(hex('00 06 000000 000001 09 00000000 aa')); // csid 64 + 6
    expect(two[0]?.chunkStreamId).toBe(70);
    const three = reader().push(hex('01 0201 000000 000001 09 00000000 bb')); // csid 64 + 0x0102
    expect(three[0]?.chunkStreamId).toBe(64 + 0x0102);
    expect(basicHeader(0, 70)).toEqual(hex('00 06'));
    expect(basicHeader(0, 64 + 0x0102)).toEqual(hex('01 0201'));
  });

  it('assembles a message cut at the default chunk size of 128 with fmt 3 chunks', () => {
    const payload = Buffer.concat([bytes(128, 1), bytes(128, 2), bytes(44, 3)]);
    const wire = Buffer.concat([
      hex('06 000010 00012c 09 01000000'), // 300 bytes on csid 6
      payload.subarray(0, 128),
      hex('c6'),
      payload.subarray(128, 256),
      hex('c6'),
      payload.subarray(256),
    ]);
    const [message] = reader().push(wire);
    expect(message?.payload).toEqual(payload);
    expect(message?.timestamp).toBe(16);
    expect(encodeMessage({ chunkStreamId: 6, type: 9, streamId: 1, timestamp: 16, payload }, 128)).toEqual(wire);
  });

  it('adds fmt 1 and fmt 2 deltas, and repeats the last delta for a fmt 3 message', () => {
    const messages = reader().push(
      Buffer.concat([
        hex('04 0003e8 000001 08 01000000 a1'), // fmt 0: t = 1000
        hex('44 000014 000002 08 a2a2'), // fmt 1: +20, new length 2
        hex('84 000015 a3a3'), // fmt 2: +21, same length and type
        hex('c4 a4a4'), // fmt 3: a new message, +21 again
      ]),
    );
    expect(messages.map((m) => m.timestamp)).toEqual([1000, 1020, 1041, 1062]);
    expect(messages.map((m) => m.payload.toString('hex'))).toEqual(['a1', 'a2a2', 'a3a3', 'a4a4']);
    expect(messages.every((m) => m.type === 8 && m.streamId === 1)).toBe(true);
  });

  it('reads extended timestamps, repeated on fmt 3 continuation chunks', () => {
    const payload = bytes(200, 7);
    const wire = Buffer.concat([
      hex('06 ffffff 0000c8 09 01000000 12345678'),
      payload.subarray(0, 128),
      hex('c6 12345678'),
      payload.subarray(128),
    ]);
    const [message] = reader().push(wire);
    expect(message?.timestamp).toBe(0x12345678);
    expect(message?.payload).toEqual(payload);
    expect(encodeMessage({ chunkStreamId: 6, type: 9, streamId: 1, timestamp: 0x12345678, payload }, 128)).toEqual(
      wire,
    );
  });

  it('interleaves messages of two chunk streams', () => {
    const video = bytes(200, 9);
    const messages = reader().push(
      Buffer.concat([
        hex('06 000000 0000c8 09 01000000'),
        video.subarray(0, 128),
        hex('04 000000 000001 08 01000000 aa'), // a whole audio message between the video's chunks
        hex('c6'),
        video.subarray(128),
      ]),
    );
    expect(messages.map((m) => m.type)).toEqual([8, 9]);
    expect(messages[1]?.payload).toEqual(video);
  });

  it('applies Set Chunk Size to the chunks after it in the same bytes', () => {
    const payload = bytes(300, 5);
    const messages = reader().push(
      Buffer.concat([
        hex('02 000000 000004 01 00000000 0000012c'), // Set Chunk Size 300
        hex('06 000000 00012c 09 01000000'),
        payload,
      ]),
    );
    expect(messages).toHaveLength(1); // Set Chunk Size itself is not handed on
    expect(messages[0]?.payload).toEqual(payload);
  });

  it('drops a half-received message on Abort', () => {
    const r = reader();
    expect(r.push(Buffer.concat([hex('06 000000 0000c8 09 01000000'), bytes(128, 1)]))).toEqual([]);
    expect(r.push(hex('02 000000 000004 02 00000000 00000006'))).toEqual([]); // Abort csid 6
    const [next] = r.push(hex('06 000000 000001 09 01000000 ee'));
    expect(next?.payload).toEqual(hex('ee'));
  });

  it('gives the same messages fed a byte at a time, holding back at most one chunk', () => {
    const wire = Buffer.concat([
      encodeMessage({ chunkStreamId: 3, type: 20, streamId: 0, timestamp: 0, payload: bytes(500, 1) }, 128),
      encodeMessage({ chunkStreamId: 70, type: 9, streamId: 1, timestamp: 0x1000000, payload: bytes(130, 2) }, 128),
    ]);
    const whole = reader().push(wire);
    const r = reader();
    const pieces = [];
    for (let i = 0; i < wire.length; i++) {
      pieces.push(...r.push(wire.subarray(i, i + 1)));
      expect(r.buffered).toBeLessThanOrEqual(128 + 18);
    }
    expect(pieces).toEqual(whole);
    expect(whole.map((m) => m.timestamp)).toEqual([0, 0x1000000]);
  });
});

describe('chunk stream costs', () => {
  it('joins a chunk trickled a byte at a time once it has all come, not again with every byte', () => {
    const r = reader(8 << 20);
    r.push(encodeMessage({ chunkStreamId: 2, type: 1, streamId: 0, timestamp: 0, payload: hex('00010000') }, 128));
    const wire = encodeMessage(
      { chunkStreamId: 6, type: 9, streamId: 1, timestamp: 0, payload: bytes(60_000, 7) },
      65_536,
    );
    const concat = vi.spyOn(Buffer, 'concat');
    try {
      const got = [];
      for (let i = 0; i < wire.length; i++) got.push(...r.push(wire.subarray(i, i + 1)));
      expect(got).toHaveLength(1);
      expect(got[0]?.payload.equals(bytes(60_000, 7))).toBe(true);
      // The header's few bytes, then the payload once: a handful of joins, not 60,000.
      expect(concat.mock.calls.length).toBeLessThan(10);
    } finally {
      concat.mockRestore();
    }
  });
});

describe('chunk stream bounds and errors', () => {
  const expectError = (push: () => unknown, pattern: RegExp) => {
    expect(push).toThrow(ProtocolError);
    expect(push).toThrow(pattern);
  };

  it('refuses a command or data message over 64 KiB even while publishing (only media may be large)', () => {
    const big = reader(8 << 20);
    for (const type of [20, 18, 15]) {
      expectError(
        () => big.push(hex(`03 000000 010001 ${type.toString(16).padStart(2, '0')} 01000000`)),
        /at most 65536/,
      );
    }
    expect(() => reader(8 << 20).push(hex('03 000000 010001 09 01000000'))).not.toThrow();
  });

  it('refuses a chunk stream that begins without a full header', () => {
    expectError(() => reader().push(hex('44 000014 000002 08 a2a2')), /began without a full header/);
    expectError(() => reader().push(hex('c4')), /began without a full header/);
  });

  it('refuses a new header in the middle of a message', () => {
    expectError(
      () =>
        reader().push(
          Buffer.concat([hex('06 000000 0000c8 09 01000000'), bytes(128, 1), hex('46 000000 000001 09 aa')]),
        ),
      /before its message ended/,
    );
  });

  it('refuses a message longer than the limit from its header alone', () => {
    const r = reader(64 * 1024);
    expectError(() => r.push(hex('03 000000 010001 14 00000000')), /65537 bytes/);
    expect(() => reader(64 * 1024).push(hex('03 000000 010000 14 00000000'))).not.toThrow();
  });

  it('refuses more chunk streams than allowed', () => {
    const r = reader(1 << 20, 8);
    for (let csid = 2; csid < 10; csid++)
      r.push(Buffer.concat([basicHeader(0, csid), hex('000000 000001 09 01000000 aa')]));
    expectError(() => r.push(hex('0a 000000 000001 09 01000000 aa')), /more than 8 chunk streams/);
  });

  it('bounds the bytes of unfinished messages over all chunk streams', () => {
    const r = reader(100_000, 8);
    r.push(Buffer.concat([hex('04 000000 0186a0 09 01000000'), bytes(128, 0)])); // 100,000 claimed, 128 sent
    expectError(
      () => r.push(Buffer.concat([hex('05 000000 0186a0 09 01000000'), bytes(128, 0)])),
      /unfinished messages/,
    );
  });

  it(`accepts Set Chunk Size 1..${MAX_CHUNK_SIZE} and refuses 0 or more`, () => {
    const setChunkSize = (size: number) => {
      const wire = hex('02 000000 000004 01 00000000 00000000');
      wire.writeUInt32BE(size, 12);
      return wire;
    };
    expect(() => reader().push(setChunkSize(MAX_CHUNK_SIZE))).not.toThrow();
    expect(() => reader().push(setChunkSize(1))).not.toThrow();
    expectError(() => reader().push(setChunkSize(MAX_CHUNK_SIZE + 1)), /Set Chunk Size 65537/);
    expectError(() => reader().push(setChunkSize(0)), /Set Chunk Size 0/);
    expectError(() => reader().push(setChunkSize(0x80000000)), /Set Chunk Size/);
    expectError(() => reader().push(hex('02 000000 000002 01 00000000 0001')), /without its 4 bytes/);
  });
});

describe('handshake', () => {
  it('answers C0+C1 with S0, S1 (no version, so no digest) and S2 echoing C1, then reads C2', () => {
    const handshake = new Handshake();
    const c1 = Buffer.alloc(HANDSHAKE_SIZE, 0x5a);
    expect(handshake.push(Buffer.of(3))).toEqual({});
    const { reply } = handshake.push(c1.subarray(0, 1000));
    expect(reply).toBeUndefined();
    const answered = handshake.push(c1.subarray(1000));
    const s = answered.reply as Buffer;
    expect(s.length).toBe(1 + 2 * HANDSHAKE_SIZE);
    expect(s[0]).toBe(3);
    expect(s.subarray(5, 9)).toEqual(Buffer.alloc(4));
    expect(s.subarray(1 + HANDSHAKE_SIZE)).toEqual(c1);
    expect(handshake.done).toBe(false);

    const c2AndChunks = Buffer.concat([s.subarray(1, 1 + HANDSHAKE_SIZE), hex('03 000000')]);
    const last = handshake.push(c2AndChunks);
    expect(handshake.done).toBe(true);
    expect(last.rest).toEqual(hex('03 000000'));
  });

  it('refuses another RTMP version (6: encrypted) at its first byte', () => {
    expect(() => new Handshake().push(Buffer.of(6))).toThrow(/version 6/);
  });
});
