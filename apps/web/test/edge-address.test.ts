import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { connect } from 'node:net';
import { compileTrustProxy } from '@ovation/shared/client-address';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '../../../test-support/poll.js';
import { edgeHandler, rememberPeers } from '../server.mjs';

/*
 * The address a route handler sees for a client that reset its connection right after sending a
 * request: without the server noting peers as they connect, it was 'unknown' — past every
 * per-address limit and address ban (found by an attacker review).
 */

const seen: Array<string | undefined> = [];
let server: Server;
let port = 0;

beforeAll(async () => {
  const edge = edgeHandler({
    handle: (req: IncomingMessage, res: ServerResponse) => {
      seen.push(req.headers['x-ovation-client-address'] as string | undefined);
      res.end('ok');
    },
    trust: compileTrustProxy(undefined),
  });
  server = rememberPeers(createServer(edge));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as { port: number }).port;
});

afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
});

describe('the web server and a client that resets right after sending', () => {
  it('still knows the address (or serves nothing): never "unknown"', async () => {
    for (let i = 0; i < 20; i++) {
      const socket = connect(port, '127.0.0.1');
      socket.on('error', () => {});
      await new Promise((resolve) => socket.once('connect', resolve));
      const body = '{"text":"spam"}';
      socket.write(
        `POST /api/videos/v1/comments HTTP/1.1\r\nHost: a\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body}`,
      );
      socket.resetAndDestroy();
    }
    await waitFor('every connection gone', async () => {
      const open = await new Promise<number>((resolve) => server.getConnections((_e, n) => resolve(n)));
      return open === 0;
    });
    expect((await fetch(`http://127.0.0.1:${port}/`)).status).toBe(200);
    expect(seen.at(-1)).toBe('127.0.0.1');
    expect(seen.filter((address) => address !== '127.0.0.1')).toEqual([]);
  });
});
