import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { encodeFrame } from '@ovation/shared';
import { afterEach, describe, expect, it } from 'vitest';
import { waitFor } from '../../../test-support/poll.js';
import { TestViewer } from '../../../test-support/sse-client.js';
import { Connection } from '../src/connections/connection.js';
import { StreamHeads } from '../src/connections/stream-head.js';

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
});
