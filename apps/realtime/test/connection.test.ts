import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { encodeFrame, positionId, type TWireEvent } from '@ovation/shared';
import { afterEach, describe, expect, it } from 'vitest';
import { waitFor } from '../../../test-support/poll.js';
import { TestViewer } from '../../../test-support/sse-client.js';
import { Connection } from '../src/connections/connection.js';
import { StreamHeads } from '../src/connections/stream-head.js';
import { encodeTopicBatch } from '../src/fanout/encode-batch.js';

let server: Server | undefined;

afterEach(() => {
  server?.close();
  server?.closeAllConnections();
});

/** Serves one SSE stream through a Connection; `script` drives it. */
async function serve(script: (connection: Connection) => void): Promise<string> {
  server = createServer((_req, res) => {
    script(new Connection('c1', res, 0, 1024, () => {}));
  });
  await new Promise<void>((resolve) => server?.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
}

describe('Connection', () => {
  it('holds frames that arrive before the stream begins and sends them after the first frame', async () => {
    const url = await serve((connection) => {
      connection.write(Buffer.from(encodeFrame('comment', '{"n":1}', 'a')));
      connection.write(Buffer.from(encodeFrame('comment', '{"n":2}', 'b')));
      connection.begin(new StreamHeads(() => ({})).for(undefined), encodeFrame('connected', '{}'));
      connection.write(Buffer.from(encodeFrame('comment', '{"n":3}', 'c')));
    });
    const viewer = TestViewer.open(url);
    await waitFor('four frames', () => viewer.frames.length === 4);
    expect(viewer.headers['content-type']).toBe('text/event-stream');
    expect(viewer.frames.map((f) => f.id ?? f.event)).toEqual(['connected', 'a', 'b', 'c']);
    viewer.close();
  });

  it('drops a connection whose early frames pass the byte bound instead of growing memory', async () => {
    let slow = false;
    server = createServer((_req, res) => {
      const connection = new Connection('c2', res, 0, 1024, () => {
        slow = true;
      });
      for (let i = 0; i < 20; i++) connection.write(Buffer.from('x'.repeat(100)));
      expect(connection.isOpen).toBe(false);
    });
    await new Promise<void>((resolve) => server?.listen(0, '127.0.0.1', resolve));
    const viewer = TestViewer.open(`http://127.0.0.1:${(server.address() as AddressInfo).port}/`);
    await waitFor('the stream to be cut', () => viewer.closed);
    expect(slow).toBe(true);
    expect(viewer.frames).toEqual([]);
  });

  it('writes catch-up frames first, then only the held and late events past each topic cutoff', async () => {
    const epoch = 'abcd1234';
    const ev = (pos: number): TWireEvent => ({
      id: positionId({ ts: 1, pos, epoch, region: 'local' }),
      topic: 't',
      type: 'comment',
      data: { pos },
      ts: 1,
      region: 'local',
    });
    const deliver = (connection: Connection, ...events: TWireEvent[]) =>
      connection.deliver(Buffer.from(encodeTopicBatch(events).text), 't', events);
    const url = await serve((connection) => {
      deliver(connection, ev(1), ev(2));
      connection.hold();
      deliver(connection, ev(3), ev(4));
      // The catch-up was read at position 3; event 5 had not reached the node yet: it lingers.
      connection.release(
        encodeFrame('snapshot', '{"data":{}}', 'snap'),
        new Map([['t', { epoch, pos: 3 }]]),
        new Map([['t', { epoch, pos: 5 }]]),
      );
      connection.begin(new StreamHeads(() => ({})).for(undefined), encodeFrame('connected', '{}'));
      deliver(connection, ev(5));
      deliver(connection, ev(5), ev(6));
      deliver(connection, ev(7));
    });
    const viewer = TestViewer.open(url);
    await waitFor('the frames', () => viewer.frames.length >= 5);
    expect(viewer.frames.map((f) => (f.event === 'comment' ? JSON.parse(f.data).data.pos : f.event))).toEqual([
      'connected',
      'snapshot',
      4,
      6,
      7,
    ]);
    viewer.close();
  });
});
