import type { FastifyBaseLogger } from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { waitFor } from '../../../test-support/poll.js';
import { EcmaArray, encodeAmf0 } from '../src/rtmp/amf0.js';
import type { PublishAnswer, PublisherConnection, PublishGate, PublishSink } from '../src/rtmp/connection.js';
import { MessageType } from '../src/rtmp/messages.js';
import type { StreamMetadata } from '../src/rtmp/metadata.js';
import { RtmpServer } from '../src/rtmp/server.js';
import { h264Frame, RtmpTestClient } from './rtmp-client.js';

/*
 * The RTMP listener against a test client that speaks the protocol byte by byte, and a gate
 * standing in for the web: 'good' is accepted, anything else refused.
 */

const silent = { debug() {}, info() {}, warn() {}, error() {} } as unknown as FastifyBaseLogger;

/** What a sink was given. */
interface Recorded {
  media: Array<{ kind: string; timestamp: number; bytes: number }>;
  metadata: Array<{ metadata: StreamMetadata; scriptBody: Buffer }>;
  ends: string[];
}

class TestGate implements PublishGate {
  readonly sinks: Recorded[] = [];
  readonly connections: PublisherConnection[] = [];
  /** When set, answers wait for it. */
  hold: Promise<void> | undefined;

  async publish(streamKey: string, connection: PublisherConnection): Promise<PublishAnswer> {
    this.connections.push(connection);
    await this.hold;
    if (streamKey !== 'good') return { ok: false, reason: 'stream key refused' };
    const recorded: Recorded = { media: [], metadata: [], ends: [] };
    this.sinks.push(recorded);
    const sink: PublishSink = {
      metadata: (metadata, scriptBody) => recorded.metadata.push({ metadata, scriptBody }),
      media: (kind, timestamp, payload) => recorded.media.push({ kind, timestamp, bytes: payload.length }),
      end: (reason) => recorded.ends.push(reason),
    };
    return { ok: true, sink };
  }
}

const servers: RtmpServer[] = [];
const clients: RtmpTestClient[] = [];

afterEach(() => {
  for (const client of clients.splice(0)) client.close();
  for (const server of servers.splice(0)) server.closeAll('test over');
});

async function start(options: { maxConnectionsPerAddress?: number; publishTimeoutMs?: number } = {}) {
  const gate = new TestGate();
  const refused: string[] = [];
  const server = new RtmpServer({
    gate,
    log: silent,
    maxConnectionsPerAddress: options.maxConnectionsPerAddress ?? 10,
    publishTimeoutMs: options.publishTimeoutMs ?? 10_000,
    onRefusedConnection: (address) => refused.push(address),
  });
  await server.listen('127.0.0.1', 0);
  servers.push(server);
  const connect = async (handshake = true) => {
    const client = handshake ? await RtmpTestClient.handshaken(server.port) : await RtmpTestClient.open(server.port);
    clients.push(client);
    return client;
  };
  return { server, gate, refused, connect };
}

const closed = (client: RtmpTestClient, what: string) => waitFor(what, () => client.closed, { timeoutMs: 3000 });

describe('RTMP publish flow', () => {
  it('answers connect with window, bandwidth, chunk size and NetConnection.Connect.Success', async () => {
    const { connect } = await start();
    const client = await connect();
    client.command('connect', 1, { app: 'live' });
    const result = await waitFor('_result', () => client.commands().find((c) => c[0] === '_result'));
    expect(result[1]).toBe(1);
    expect(result[3]).toMatchObject({ level: 'status', code: 'NetConnection.Connect.Success' });
    const types = client.received.map((m) => m.type);
    expect(types.slice(0, 3)).toEqual([
      MessageType.WINDOW_ACK_SIZE,
      MessageType.SET_PEER_BANDWIDTH,
      MessageType.COMMAND_AMF0,
    ]);
    // Set Chunk Size (4096) came between them: the reader applied it and did not hand it on.
  });

  it('accepts a publish the gate accepts: Publish.Start, metadata and media to the sink, unpublish ends it', async () => {
    const { connect, gate } = await start();
    const client = await connect();
    const status = await client.publish('good');
    expect(status).toMatchObject({ level: 'status', code: 'NetStream.Publish.Start' });
    expect(client.commands().find((c) => c[0] === '_result' && c[1] === 4)?.[3]).toBe(1); // createStream → stream 1

    const metadata = encodeAmf0(
      '@setDataFrame',
      'onMetaData',
      new EcmaArray({ width: 640, height: 360, framerate: 30 }),
    );
    client.send({ chunkStreamId: 4, type: MessageType.DATA_AMF0, streamId: 1, timestamp: 0, payload: metadata });
    client.media('video', 0, h264Frame(true));
    client.media('audio', 23, Buffer.of(0xaf, 1, 2, 3));
    client.media('video', 0x1000005, h264Frame(false, 200_000)); // an extended timestamp; over 64 KiB
    const amf3Data = Buffer.concat([Buffer.of(0), encodeAmf0('onMetaData', { width: 1920 })]);
    client.send({ chunkStreamId: 4, type: MessageType.DATA_AMF3, streamId: 1, timestamp: 0, payload: amf3Data });
    const sink = await waitFor('the sink', () => gate.sinks[0]);
    await waitFor('three media messages', () => sink.media.length === 3);
    expect(sink.media).toEqual([
      { kind: 'video', timestamp: 0, bytes: 100 },
      { kind: 'audio', timestamp: 23, bytes: 4 },
      { kind: 'video', timestamp: 0x1000005, bytes: 200_000 },
    ]);
    expect(sink.metadata[0]?.metadata).toEqual({ width: 640, height: 360, framerate: 30 });
    expect(sink.metadata[1]?.metadata).toEqual({ width: 1920 }); // AMF3 data: AMF0 after a 0 byte
    // The FLV script tag is the message without '@setDataFrame'.
    expect(sink.metadata[0]?.scriptBody).toEqual(
      encodeAmf0('onMetaData', new EcmaArray({ width: 640, height: 360, framerate: 30 })),
    );

    client.command('FCUnpublish', 6, null, 'good');
    await closed(client, 'the server to close after the unpublish');
    expect(sink.ends[0]).toMatch(/unpublished/);
  });

  it('refuses a publish the gate refuses: onStatus BadName with the reason, then closes', async () => {
    const { connect, gate } = await start();
    const client = await connect();
    const status = await client.publish('bad');
    expect(status).toEqual(
      expect.objectContaining({ level: 'error', code: 'NetStream.Publish.BadName', description: 'stream key refused' }),
    );
    await closed(client, 'the server to close');
    expect(gate.sinks).toEqual([]);
  });

  it('ends the sink when the encoder disconnects, and when the gate accepted after it had gone', async () => {
    const { connect, gate } = await start();
    const first = await connect();
    await first.publish('good');
    first.close();
    await waitFor('the sink to end', () => gate.sinks[0]?.ends[0]);
    expect(gate.sinks[0]?.ends[0]).toMatch(/closed the connection/);

    let release = () => {};
    gate.hold = new Promise((resolve) => {
      release = resolve;
    });
    const second = await connect();
    second.command('connect', 1, { app: 'live' });
    second.send({
      chunkStreamId: 8,
      type: MessageType.COMMAND_AMF0,
      streamId: 1,
      timestamp: 0,
      payload: encodeAmf0('publish', 0, null, 'good'),
    });
    await waitFor('the gate to be asked', () => gate.connections.length === 2);
    second.close();
    await waitFor('the connection to be seen closed', () => gate.connections[1]?.open === false);
    release();
    await waitFor('the late sink to end', () => gate.sinks[1]?.ends[0]);
    expect(gate.sinks[1]?.ends[0]).toMatch(/before its publish began/);
  });
});

describe('RTMP bounds before a publish is accepted', () => {
  it('closes a connection without an accepted publish in time', async () => {
    const { connect } = await start({ publishTimeoutMs: 200 });
    const client = await connect();
    client.command('connect', 1, { app: 'live' });
    await closed(client, 'the publish deadline');
  });

  it('closes on a command message over 64 KiB, from its header alone', async () => {
    const { connect } = await start();
    const client = await connect();
    client.write(Buffer.from('03000000010001140000000000', 'hex'));
    await closed(client, 'a 65,537-byte message to be refused');
  });

  it('closes on media before a publish was accepted', async () => {
    const { connect } = await start();
    const client = await connect();
    client.command('connect', 1, { app: 'live' });
    client.media('video', 0, h264Frame(true));
    await closed(client, 'early media to be refused');
  });

  it('closes on a ninth chunk stream, a Set Chunk Size over 64 KiB, a play, a wrong version', async () => {
    const { connect } = await start();
    const many = await connect();
    for (let csid = 2; csid <= 10; csid++) {
      many.send({
        chunkStreamId: csid,
        type: MessageType.USER_CONTROL,
        streamId: 0,
        timestamp: 0,
        payload: Buffer.alloc(6),
      });
    }
    await closed(many, 'the ninth chunk stream');

    const big = await connect();
    big.setChunkSize(65_537);
    await closed(big, 'Set Chunk Size 65537');

    const player = await connect();
    player.command('connect', 1, { app: 'live' });
    player.command('play', 2, null, 'good');
    await closed(player, 'play to be refused');

    const encrypted = await connect(false);
    encrypted.write(Buffer.alloc(1537, 6));
    await closed(encrypted, 'version 6 to be refused');
  });

  it('cuts connections past MAX_CONNECTIONS_PER_ADDRESS that are not publishing, and counts them', async () => {
    const { connect, refused } = await start({ maxConnectionsPerAddress: 3 });
    const [a] = [await connect(), await connect(), await connect()];
    const fourth = await connect(false);
    await closed(fourth, 'the fourth connection to be cut');
    expect(refused).toEqual(['127.0.0.1']);

    // A publishing connection is no stranger's: its place is free again.
    await a?.publish('good');
    const another = await connect();
    another.command('connect', 1, { app: 'live' });
    await waitFor('its connect _result', () => another.commands().some((c) => c[0] === '_result'));
    expect(another.closed).toBe(false);
  });
});

describe('RTMP bounds after a publish is accepted', () => {
  it('takes messages up to 8 MiB and refuses a larger one from its header', async () => {
    const { connect, gate } = await start();
    const client = await connect();
    await client.publish('good');
    client.setChunkSize(65_536);
    client.media('video', 40, h264Frame(true, 8 * 1024 * 1024));
    await waitFor('the 8 MiB message', () => gate.sinks[0]?.media[0], { timeoutMs: 5000 });
    const header = Buffer.from('06000000800001090100000000', 'hex'); // 8 MiB + 1
    client.write(header);
    await closed(client, 'the 8 MiB + 1 message to be refused');
    expect(gate.sinks[0]?.ends[0]).toMatch(/protocol error.*8388609 bytes/);
  });
});
