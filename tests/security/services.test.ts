import { connect, type Socket } from 'node:net';
import {
  CommentRequestSchema,
  CreateSessionSchema,
  CreateVideoSchema,
  isErrorBody,
  LikeRequestSchema,
  MAX_LIKE_BATCH,
} from '@ovation/shared';
import { ConnectTokens } from '@ovation/shared/connect-token';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp as buildDispatcher } from '../../apps/dispatcher/src/app.js';
import { loadDispatcherConfig } from '../../apps/dispatcher/src/config.js';
import { buildApp as buildNode } from '../../apps/realtime/src/app.js';
import { loadRealtimeConfig } from '../../apps/realtime/src/config.js';
import { metricValue, postJson } from '../../test-support/http.js';
import { waitFor } from '../../test-support/poll.js';
import { TestViewer } from '../../test-support/sse-client.js';

/*
 * The services' hostile-input bounds, as a list of attacks on a real dispatcher and a real
 * realtime node listening on free ports, spoken to over raw sockets where the attack is below HTTP.
 */

const TOKEN = 'security-test-token-0123456789';
const CONNECT_SECRET = 'security-test-connect-secret-0123456789';
const auth = { authorization: `Bearer ${TOKEN}` };
let dispatcher: FastifyInstance;
let node: FastifyInstance;
const targets: Record<'dispatcher' | 'realtime', { port: number; url: string }> = {
  dispatcher: { port: 0, url: '' },
  realtime: { port: 0, url: '' },
};

beforeAll(async () => {
  dispatcher = await buildDispatcher(loadDispatcherConfig({ INTERNAL_TOKEN: TOKEN, LOG_LEVEL: 'silent' }));
  targets.dispatcher.url = await dispatcher.listen({ host: '127.0.0.1', port: 0 });
  node = await buildNode(
    loadRealtimeConfig({
      INTERNAL_TOKEN: TOKEN,
      LOG_LEVEL: 'silent',
      PORT: '0',
      DISPATCHER_URLS: targets.dispatcher.url,
      NODE_HEARTBEAT_MS: '100',
      CONNECT_TOKEN_SECRET: CONNECT_SECRET,
    }),
  );
  targets.realtime.url = await node.listen({ host: '127.0.0.1', port: 0 });
  for (const target of Object.values(targets)) target.port = Number(new URL(target.url).port);
});

afterAll(async () => {
  await node?.close();
  await dispatcher?.close();
});

interface RawResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
  /** The server closed the connection (FIN or reset). */
  closed: boolean;
}

function parseResponse(text: string, closed: boolean): RawResponse {
  const split = text.indexOf('\r\n\r\n');
  const [statusLine = '', ...lines] = text.slice(0, split < 0 ? text.length : split).split('\r\n');
  const headers: Record<string, string> = {};
  for (const line of lines) {
    const colon = line.indexOf(':');
    if (colon > 0) headers[line.slice(0, colon).toLowerCase()] = line.slice(colon + 1).trim();
  }
  return {
    status: Number(statusLine.split(' ')[1] ?? 0),
    headers,
    body: split < 0 ? '' : text.slice(split + 4),
    closed,
  };
}

/**
 * Writes `bytes` to a fresh connection and reads until the server closes it, or — with
 * `untilResponse` — until one complete response (by Content-Length) has arrived.
 */
function raw(
  port: number,
  bytes: string | Buffer,
  { untilResponse = false, timeoutMs = 5000 }: { untilResponse?: boolean; timeoutMs?: number } = {},
): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    let text = '';
    const done = (closed: boolean) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(parseResponse(text, closed));
    };
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no answer within ${timeoutMs} ms; got ${JSON.stringify(text.slice(0, 200))}`));
    }, timeoutMs);
    socket.on('data', (chunk) => {
      text += chunk.toString('latin1');
      if (!untilResponse) return;
      const parsed = parseResponse(text, false);
      const length = Number(parsed.headers['content-length'] ?? Number.NaN);
      if (parsed.status > 0 && Buffer.byteLength(parsed.body, 'latin1') >= length) done(socket.readableEnded);
    });
    socket.on('error', () => {});
    socket.on('close', () => done(true));
    socket.write(bytes);
  });
}

function expectShape(response: RawResponse, status: number, code: string): string {
  expect(response.status, response.body).toBe(status);
  expect(response.headers['content-type']).toMatch(/^application\/json/);
  const body = JSON.parse(response.body) as unknown;
  expect(isErrorBody(body)).toBe(true);
  const { error } = body as { error: { code: string; message: string } };
  expect(error.code).toBe(code);
  expect(error.message.length).toBeGreaterThan(0);
  return error.message;
}

const SERVICES = ['dispatcher', 'realtime'] as const;

describe('requests Node refuses before any route, in the contract shape (both services)', () => {
  const headerFlood = `GET /healthz HTTP/1.1\r\nHost: x\r\nX-Pad: ${'a'.repeat(20 * 1024)}\r\n\r\n`;
  const attacks: Array<[string, string, number, string]> = [
    ['headers over 16 KiB', headerFlood, 431, 'HEADERS_TOO_LARGE'],
    ['a 20 KiB URL', `GET /${'a'.repeat(20 * 1024)} HTTP/1.1\r\nHost: x\r\n\r\n`, 431, 'HEADERS_TOO_LARGE'],
    [
      // 48 KB in 6,000 headers: Node 20 serves 3,000 (it counts them, past 2,000 it drops them),
      // Node 24 refuses 3,000; both refuse this.
      'many small headers',
      `GET /healthz HTTP/1.1\r\nHost: x\r\n${'X-A: b\r\n'.repeat(6000)}\r\n`,
      431,
      'HEADERS_TOO_LARGE',
    ],
    ['a bad method token', 'G@T /healthz HTTP/1.1\r\nHost: x\r\n\r\n', 400, 'BAD_REQUEST'],
    ['a space in a header name', 'GET /healthz HTTP/1.1\r\nHost: x\r\nBad Name: y\r\n\r\n', 400, 'BAD_REQUEST'],
    ['an unknown HTTP version', 'GET /healthz HTTP/9.9\r\nHost: x\r\n\r\n', 400, 'BAD_REQUEST'],
    ['binary garbage', '\u0000\u0001\u0002\u0016\u0003\u0001garbage\r\n\r\n', 400, 'BAD_REQUEST'],
    ['an HTTP/2 preface on HTTP/1', 'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 400, 'BAD_REQUEST'],
    [
      'Content-Length with Transfer-Encoding (request smuggling)',
      'POST /publish HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n',
      400,
      'BAD_REQUEST',
    ],
    [
      'two different Content-Lengths',
      'POST /publish HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\n{}',
      400,
      'BAD_REQUEST',
    ],
    ['HTTP/1.1 without Host', 'GET /healthz HTTP/1.1\r\n\r\n', 400, 'BAD_REQUEST'],
    ['/connect without Host', 'GET /connect?topics=video:x HTTP/1.1\r\n\r\n', 400, 'BAD_REQUEST'],
    [
      'Expect other than 100-continue',
      'GET /healthz HTTP/1.1\r\nHost: x\r\nExpect: 200-ok\r\n\r\n',
      417,
      'EXPECTATION_FAILED',
    ],
    [
      'CONNECT (a proxy request)',
      'CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n',
      405,
      'METHOD_NOT_ALLOWED',
    ],
  ];

  for (const service of SERVICES) {
    it.each(attacks)(`${service}: %s`, async (_what, request, status, code) => {
      const response = await raw(targets[service].port, request);
      expectShape(response, status, code);
      expect(response.headers.connection).toBe('close');
      expect(response.closed).toBe(true);
    });
  }

  it('a malformed chunk in a body (with the token) is answered 400 in shape', async () => {
    const response = await raw(
      targets.dispatcher.port,
      `POST /publish HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${TOKEN}\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n`,
    );
    expectShape(response, 400, 'BAD_REQUEST');
  });

  it('a plain HTTP/1.0 request without Host is still served', async () => {
    const response = await raw(targets.dispatcher.port, 'GET /healthz HTTP/1.0\r\n\r\n');
    expect(response.status).toBe(200);
  });
});

describe("Fastify's own refusals, in the contract shape", () => {
  const request = (head: string, body = '') =>
    `${head}\r\nHost: x\r\nConnection: close\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;
  const attacks: Array<[string, 'dispatcher' | 'realtime', string, number, string]> = [
    ['no such route', 'dispatcher', request('GET /nope HTTP/1.1'), 404, 'NOT_FOUND'],
    ['a method the route lacks', 'dispatcher', request('DELETE /publish HTTP/1.1'), 404, 'NOT_FOUND'],
    ['a bad percent-escape', 'dispatcher', request('GET /%zz HTTP/1.1'), 400, 'BAD_REQUEST'],
    [
      'text/plain to a JSON route',
      'dispatcher',
      request(`POST /publish HTTP/1.1\r\nAuthorization: Bearer ${TOKEN}\r\nContent-Type: text/plain`, 'hi'),
      415,
      'UNSUPPORTED_MEDIA_TYPE',
    ],
    [
      'XML to a JSON route',
      'realtime',
      request('POST /latency HTTP/1.1\r\nContent-Type: application/xml', '<a/>'),
      415,
      'UNSUPPORTED_MEDIA_TYPE',
    ],
    [
      'a body without a content type',
      'realtime',
      request('POST /latency HTTP/1.1', '{}'),
      415,
      'UNSUPPORTED_MEDIA_TYPE',
    ],
    [
      'broken JSON',
      'realtime',
      request('POST /latency HTTP/1.1\r\nContent-Type: application/json', '{"connectionId":'),
      400,
      'INVALID_JSON',
    ],
    [
      'a body over the 8 KiB latency limit',
      'realtime',
      request('POST /latency HTTP/1.1\r\nContent-Type: application/json', `{"pad":"${'x'.repeat(9000)}"}`),
      413,
      'PAYLOAD_TOO_LARGE',
    ],
    [
      'a body over the 64 KiB limit',
      'dispatcher',
      request(
        `POST /publish HTTP/1.1\r\nAuthorization: Bearer ${TOKEN}\r\nContent-Type: application/json`,
        `{"pad":"${'x'.repeat(70 * 1024)}"}`,
      ),
      413,
      'PAYLOAD_TOO_LARGE',
    ],
  ];
  it.each(attacks)('%s (%s)', async (_what, service, text, status, code) => {
    expectShape(await raw(targets[service].port, text), status, code);
  });
});

describe('internal routes check the token before reading a body', () => {
  const internal: Array<['dispatcher' | 'realtime', string]> = [
    ['dispatcher', '/publish'],
    ['dispatcher', '/internal/relay'],
    ['dispatcher', '/internal/region-counts'],
    ['dispatcher', '/internal/catch-up'],
    ['dispatcher', '/internal/nodes/heartbeat'],
    ['dispatcher', '/internal/nodes/sync'],
    ['dispatcher', '/internal/nodes/topics'],
    ['realtime', '/internal/deliver'],
  ];

  it.each(internal)(
    '%s POST %s: 401 after the headers alone, the announced 60 KB never sent',
    async (service, path) => {
      // Before, the token was checked after the body was read: this request waited for 60 KB that
      // never come (until Node's 5-minute request timeout) holding a connection and its buffers.
      const head = `POST ${path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 60000\r\n\r\n`;
      const started = performance.now();
      const response = await raw(targets[service].port, head, { timeoutMs: 2000 });
      expectShape(response, 401, 'UNAUTHORIZED');
      expect(response.headers.connection).toBe('close');
      expect(response.closed).toBe(true);
      expect(performance.now() - started).toBeLessThan(1000);
    },
  );

  it('a wrong token is refused the same way', async () => {
    const head = `POST /publish HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${TOKEN}x\r\nContent-Type: application/json\r\nContent-Length: 60000\r\n\r\n`;
    expectShape(await raw(targets.dispatcher.port, head, { timeoutMs: 2000 }), 401, 'UNAUTHORIZED');
  });

  it('an endless chunked body without the token (relay route, 16 MiB limit): the server stops reading after the headers', async () => {
    const serverSockets: Socket[] = [];
    const track = (socket: Socket) => serverSockets.push(socket);
    dispatcher.server.on('connection', track);
    try {
      const client = connect(targets.dispatcher.port, '127.0.0.1');
      client.on('error', () => {});
      const closed = new Promise<void>((resolve) => client.on('close', () => resolve()));
      client.write(
        'POST /internal/relay HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n',
      );
      // Offer 64 KiB chunks for as long as the connection takes them (up to 64 MiB).
      const chunk = Buffer.concat([Buffer.from('10000\r\n'), Buffer.alloc(0x10000, 0x20), Buffer.from('\r\n')]);
      let offered = 0;
      const pump = () => {
        while (!client.destroyed && offered < 64 * 1024 * 1024) {
          offered += chunk.length;
          if (!client.write(chunk)) return void client.once('drain', pump);
        }
      };
      pump();
      await waitFor('the server to close the connection', () => client.destroyed || client.readableEnded, {
        timeoutMs: 5000,
      });
      await closed;
      // The server's end of this connection (the realtime node keeps its own to the dispatcher).
      const server = serverSockets.find((socket) => socket.remotePort === client.localPort);
      expect(server).toBeDefined();
      // What the server took off the wire: the headers and what the kernel already held — not the
      // 16 MiB the route's body limit allows, which it read (and parsed) before the token was checked.
      expect(server?.bytesRead ?? Number.POSITIVE_INFINITY).toBeLessThan(4 * 1024 * 1024);
      expect(offered).toBeLessThan(64 * 1024 * 1024);
    } finally {
      dispatcher.server.off('connection', track);
    }
  });

  it('with the token, the same routes still read and take bodies', async () => {
    const response = await postJson(
      `${targets.dispatcher.url}/publish`,
      { topic: 'video:s', type: 'comment', data: {} },
      auth,
    );
    expect(response.status).toBe(202);
  });
});

describe('/metrics is for operators only (internal token)', () => {
  it.each(SERVICES)('%s: 401 without the token or with a wrong one, 200 with it', async (service) => {
    const url = `${targets[service].url}/metrics`;
    const anonymous = await fetch(url);
    expect(anonymous.status).toBe(401);
    expect(isErrorBody(await anonymous.json())).toBe(true);
    expect((await fetch(url, { headers: { authorization: `Bearer ${TOKEN}-not` } })).status).toBe(401);
    expect((await fetch(url, { headers: { authorization: TOKEN } })).status).toBe(401);
    const scraped = await fetch(url, { headers: auth });
    expect(scraped.status).toBe(200);
    expect(await scraped.text()).toContain('process_cpu_seconds_total');
  });

  it.each(SERVICES)('%s: /healthz stays public (load balancers)', async (service) => {
    expect([200, 503]).toContain((await fetch(`${targets[service].url}/healthz`)).status);
  });
});

describe('latency reports: counted viewers, bounded samples', () => {
  const report = (body: unknown) => postJson(`${targets.realtime.url}/latency`, body);
  const samplesCount = () => metricValue(targets.realtime.url, 'realtime_client_latency_seconds_count', {}, TOKEN);

  it('an observer (observer=1, not counted as a viewer) may not report', async () => {
    // The video's owner, whose token lets it observe: the one kind of connection that may.
    const { token } = new ConnectTokens(CONNECT_SECRET).sign({
      viewerId: 'owner-1',
      topics: ['video:lat-o'],
      observe: ['video:lat-o'],
    });
    const observer = await TestViewer.connect(
      `${targets.realtime.url}/connect?topics=video:lat-o&observer=1&token=${encodeURIComponent(token)}`,
    );
    try {
      const before = await samplesCount();
      const response = await report({ connectionId: observer.connectionId, topic: 'video:lat-o', samples: [1, 2, 3] });
      expect(response.status).toBe(403);
      expect((response.body as { error: { code: string } }).error.code).toBe('FORBIDDEN');
      expect(await samplesCount()).toBe(before);
    } finally {
      observer.close();
    }
  });

  it('a viewer: samples outside 0–60,000 ms, non-numbers or over 100 are refused whole, nothing recorded', async () => {
    const viewer = await TestViewer.connect(`${targets.realtime.url}/connect?topics=video:lat-v`);
    try {
      const before = await samplesCount();
      const hostile: unknown[] = [
        [-1],
        [-1e9, 5],
        [60_001],
        [1e308],
        ['5'],
        [null],
        [],
        Array(101).fill(1),
        Array(100_000).fill(1),
      ];
      for (const samples of hostile) {
        const response = await report({ connectionId: viewer.connectionId, topic: 'video:lat-v', samples });
        expect([400, 413], JSON.stringify(samples).slice(0, 40)).toContain(response.status);
      }
      expect(await samplesCount()).toBe(before);
      const ok = await report({ connectionId: viewer.connectionId, topic: 'video:lat-v', samples: [0, 12.5, 60_000] });
      expect(ok.status).toBe(204);
      expect(await samplesCount()).toBe(before + 3);
      // …and once a second per connection.
      expect((await report({ connectionId: viewer.connectionId, topic: 'video:lat-v', samples: [1] })).status).toBe(
        429,
      );
    } finally {
      viewer.close();
    }
  });
});

describe("hostile text and stream URLs at the web tier's input schemas", () => {
  it('refuses spoofing and invisible text, normalises the rest', () => {
    for (const name of ['evil\u202Egpj.exe', '\u200D\u200D', '\u3164', 'a\u0000b', `x${'\u0300'.repeat(64)}`]) {
      expect(CreateSessionSchema.safeParse({ name }).success, JSON.stringify(name)).toBe(false);
    }
    expect(CommentRequestSchema.parse({ text: '  Cafe\u0301  ' }).text).toBe('Café');
    expect(CreateVideoSchema.safeParse({ title: '\u2066\u2069' }).success).toBe(false);
  });

  it('refuses stream URLs aimed at the viewer’s own machine or network', () => {
    for (const hlsUrl of [
      'http://2130706433/x.m3u8',
      'http://[::ffff:127.0.0.1]/x.m3u8',
      'http://192.168.0.1/x.m3u8',
      'http://169.254.169.254/latest',
      'http://cam.localhost/x.m3u8',
      'javascript:alert(1)',
    ]) {
      expect(CreateVideoSchema.safeParse({ title: 't', hlsUrl }).success, hlsUrl).toBe(false);
    }
  });

  it('a like batch is at most the limiter burst', () => {
    expect(LikeRequestSchema.safeParse({ count: MAX_LIKE_BATCH }).success).toBe(true);
    expect(LikeRequestSchema.safeParse({ count: MAX_LIKE_BATCH + 1 }).success).toBe(false);
  });
});
