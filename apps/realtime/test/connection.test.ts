import { createServer, type Server } from 'node:http';
import { type AddressInfo, connect } from 'node:net';
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
        [Buffer.from(encodeFrame('snapshot', '{"data":{}}', 'snap'))],
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

  it('paces a catch-up larger than the buffer bound out as the client reads, live frames queued behind it', async () => {
    const bound = 256 * 1024;
    const replay = Array.from({ length: 1000 }, (_, i) =>
      Buffer.from(encodeFrame('comment', JSON.stringify({ n: i, pad: 'x'.repeat(3000) }), `r${i}`)),
    );
    let slow = false;
    let live: Connection | undefined;
    server = createServer((_req, res) => {
      live = new Connection('c3', res, 0, bound, () => {
        slow = true;
      });
      live.hold();
      live.begin(new StreamHeads(() => ({})).for(undefined), encodeFrame('connected', '{}'));
      live.release(replay, new Map());
      live.write(Buffer.from(encodeFrame('comment', '{"n":"live"}', 'live')));
    });
    await new Promise<void>((resolve) => server?.listen(0, '127.0.0.1', resolve));
    // A client that reads nothing for a while: a 3 MB replay cannot go out at once.
    const socket = connect((server.address() as AddressInfo).port, '127.0.0.1');
    socket.pause();
    socket.write('GET / HTTP/1.1\r\nHost: x\r\nAccept: text/event-stream\r\n\r\n');
    await waitFor('the connection to be served', () => live !== undefined);
    await new Promise((resolve) => setTimeout(resolve, 300)); // the client keeps not reading
    expect(slow).toBe(false);
    expect(live?.isOpen).toBe(true);
    let text = '';
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      text += chunk;
    });
    socket.resume();
    await waitFor('every replayed frame, then the live one', () => text.includes('id: live'), { timeoutMs: 10_000 });
    const ids = [...text.matchAll(/^id: (.+)$/gm)].map((m) => m[1]);
    expect(ids).toEqual([...replay.map((_, i) => `r${i}`), 'live']);
    expect(slow).toBe(false);
    socket.destroy();
  });

  it('closes a client as slow when live frames queued behind a paced catch-up pass the bound', async () => {
    const bound = 64 * 1024;
    let slow = false;
    let live: Connection | undefined;
    server = createServer((_req, res) => {
      live = new Connection('c4', res, 0, bound, () => {
        slow = true;
      });
      live.hold();
      live.begin(new StreamHeads(() => ({})).for(undefined), encodeFrame('connected', '{}'));
      live.release(
        Array.from({ length: 2000 }, (_, i) => Buffer.from(encodeFrame('comment', 'x'.repeat(3000), `r${i}`))),
        new Map(),
      );
    });
    await new Promise<void>((resolve) => server?.listen(0, '127.0.0.1', resolve));
    const socket = connect((server.address() as AddressInfo).port, '127.0.0.1');
    socket.pause();
    socket.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n');
    await waitFor('the connection to be served', () => live !== undefined);
    for (let i = 0; i < 100 && live?.isOpen; i++) live.write(Buffer.from(encodeFrame('comment', 'y'.repeat(1000))));
    expect(slow).toBe(true);
    expect(live?.isOpen).toBe(false);
    socket.destroy();
  });

  it('keeps at most 64 response heads however many origins clients name (CORS_ORIGINS=*)', () => {
    const heads = new StreamHeads(
      (origin): Record<string, string> => (origin ? { 'access-control-allow-origin': origin } : {}),
    );
    for (let i = 0; i < 1000; i++) {
      const head = heads.for(`https://site-${i}.example`).toString('latin1');
      expect(head).toContain(`access-control-allow-origin: https://site-${i}.example`);
    }
    expect(heads.cached).toBe(64);
  });
});
