import { createServer, type IncomingHttpHeaders, request } from 'node:http';
import { type AddressInfo, connect } from 'node:net';
import { compileTrustProxy } from '@ovation/shared/server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { edgeHandler } from '../../apps/web/server.mjs';
import { signUpOverHttp } from '../../test-support/passkey.js';
import { isConnectionRefused, waitFor } from '../../test-support/poll.js';
import { ServiceProcess, TEST_TOKEN } from '../../test-support/services.js';
import { SECRETS, WebProcess } from '../../test-support/web-process.js';

/*
 * Attacks on the web tier's edge, over raw HTTP against the built web server (apps/web/server.mjs
 * in front of the `next build` output) running as a real process in production mode. Each test is
 * one attack and what must hold after it.
 */

interface Answer {
  status: number;
  headers: IncomingHttpHeaders;
  text: string;
  json: () => unknown;
}

function send(
  base: string,
  method: string,
  path: string,
  options: { headers?: Record<string, string>; body?: string } = {},
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request(`${base}${path}`, { method, headers: options.headers ?? {} }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        text += chunk;
      });
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json: () => JSON.parse(text) }),
      );
    });
    req.on('error', reject);
    req.end(options.body);
  });
}

/** Writes `raw` bytes on a TCP connection and reads until the server closes it. */
function rawExchange(port: number, raw: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => socket.write(raw));
    let answer = '';
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      answer += chunk;
    });
    socket.on('end', () => resolve(answer));
    socket.on('error', reject);
  });
}

function bodyOf(rawAnswer: string): unknown {
  return JSON.parse(rawAnswer.slice(rawAnswer.indexOf('\r\n\r\n') + 4));
}

let dispatcher: ServiceProcess;
let web: WebProcess;
let victim: { cookie: string; id: string; videoId: string };

const json = { 'content-type': 'application/json' };
const ownOrigin = () => ({ origin: web.url });

async function myVideos(cookie: string): Promise<string[]> {
  const answer = await send(web.url, 'GET', '/api/videos?owner=me', { headers: { cookie } });
  expect(answer.status, answer.text).toBe(200);
  return (answer.json() as { videos: Array<{ id: string }> }).videos.map((v) => v.id);
}

beforeAll(async () => {
  dispatcher = await ServiceProcess.start('dispatcher', {});
  web = await WebProcess.start({ DISPATCHER_URLS: dispatcher.url });
  // The victim broadcasts, so has an account (a guest may not create videos).
  const account = await signUpOverHttp(web.browserUrl, 'Victim');
  const user = { cookie: account.cookie, id: account.user.id };
  const created = await send(web.url, 'POST', '/api/videos', {
    headers: { ...json, ...ownOrigin(), cookie: user.cookie },
    body: JSON.stringify({ title: 'My stream' }),
  });
  expect(created.status, `${created.text}\n${web.output}`).toBe(201);
  victim = { ...user, videoId: (created.json() as { video: { id: string } }).video.id };
});

afterAll(async () => {
  await web?.stop();
  await dispatcher?.kill();
});

describe('cross-site request forgery', () => {
  it('a cross-site <form enctype="text/plain"> login is refused (403) and the victim keeps their session and videos', async () => {
    // What the form sends: a text/plain body shaped to parse as JSON, the attacker's Origin, and
    // (SameSite=Lax) no cookie — on success its Set-Cookie would sign the victim in as someone else.
    const forged = await send(web.url, 'POST', '/api/session', {
      headers: { 'content-type': 'text/plain', origin: 'http://attacker.example', 'sec-fetch-site': 'cross-site' },
      body: '{"name":"Mallory","x":"=1"}',
    });
    expect(forged.status).toBe(403);
    expect(forged.json()).toMatchObject({ error: { code: 'FORBIDDEN' } });
    expect(forged.headers['set-cookie']).toBeUndefined();

    const session = await send(web.url, 'GET', '/api/session', { headers: { cookie: victim.cookie } });
    expect(session.json()).toEqual({
      user: { id: victim.id, name: 'Victim' },
      account: expect.objectContaining({ id: victim.id, name: 'Victim' }),
    });
    expect(await myVideos(victim.cookie)).toContain(victim.videoId);
  });

  it('JSON from a foreign Origin is refused, with the victim’s cookie too, and writes nothing', async () => {
    const before = await myVideos(victim.cookie);
    const forged = await send(web.url, 'POST', '/api/videos', {
      headers: { ...json, origin: 'http://attacker.example', cookie: victim.cookie },
      body: JSON.stringify({ title: 'Planted' }),
    });
    expect(forged.status).toBe(403);
    expect(forged.json()).toMatchObject({ error: { code: 'FORBIDDEN' } });
    expect(await myVideos(victim.cookie)).toEqual(before);
  });

  it('a sibling origin on the same host name but another port is foreign', async () => {
    const forged = await send(web.url, 'DELETE', `/api/videos/${victim.videoId}`, {
      headers: { origin: 'http://127.0.0.1:1', cookie: victim.cookie },
    });
    expect(forged.status).toBe(403);
    expect(await myVideos(victim.cookie)).toContain(victim.videoId);
  });

  it('`Origin: null` (a sandboxed frame) is refused', async () => {
    const forged = await send(web.url, 'POST', '/api/session', {
      headers: { ...json, origin: 'null' },
      body: '{"name":"Sandboxed"}',
    });
    expect(forged.status).toBe(403);
  });

  it('without Origin, `Sec-Fetch-Site: cross-site` (or same-site) is refused', async () => {
    for (const site of ['cross-site', 'same-site']) {
      const forged = await send(web.url, 'POST', '/api/session', {
        headers: { ...json, 'sec-fetch-site': site },
        body: '{"name":"Mallory"}',
      });
      expect(forged.status, site).toBe(403);
      expect(forged.json()).toMatchObject({ error: { code: 'FORBIDDEN' } });
    }
  });

  it('a body that is not JSON is refused (403, as CONTRACT.md says) even from the app’s own origin', async () => {
    for (const type of ['text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x']) {
      const answer = await send(web.url, 'POST', '/api/session', {
        headers: { 'content-type': type, ...ownOrigin() },
        body: '{"name":"Form"}',
      });
      expect(answer.status, type).toBe(403);
      expect(answer.json()).toMatchObject({
        error: { code: 'FORBIDDEN', message: 'headers.Content-Type: must be application/json' },
      });
    }
  });

  it('the app’s own pages work: same-origin JSON, Sec-Fetch-Site same-origin, a bodiless POST', async () => {
    const account = await signUpOverHttp(web.browserUrl, 'Owner');
    const owner = { cookie: account.cookie };
    const created = await send(web.url, 'POST', '/api/videos', {
      headers: {
        'content-type': 'application/json; charset=utf-8',
        'sec-fetch-site': 'same-origin',
        cookie: owner.cookie,
      },
      body: JSON.stringify({ title: 'Mine' }),
    });
    expect(created.status, created.text).toBe(201);
    const { video } = created.json() as { video: { id: string } };
    const started = await send(web.url, 'POST', `/api/videos/${video.id}/start`, {
      headers: { ...ownOrigin(), cookie: owner.cookie },
    });
    expect(started.status, started.text).toBe(200);
  });

  it('a client that is no browser (curl: neither Origin nor Sec-Fetch-Site) works with JSON', async () => {
    const answer = await send(web.url, 'POST', '/api/session', { headers: json, body: '{"name":"Curl"}' });
    expect(answer.status, answer.text).toBe(200);
  });
});

describe('bodies', () => {
  it('a 300 MB chunked POST is cut at 64 KiB with 413, and the process’s memory barely moves', async () => {
    const rssBefore = web.rss();
    const chunk = Buffer.alloc(64 * 1024, 'a');
    const total = 300 * 1024 * 1024;
    const { status, sent } = await new Promise<{ status: number; sent: number }>((resolve, reject) => {
      let sent = 0;
      let answered = false;
      const req = request(
        `${web.url}/api/session`,
        { method: 'POST', headers: { ...json, ...ownOrigin(), 'transfer-encoding': 'chunked' } },
        (res) => {
          answered = true;
          res.resume();
          res.on('end', () => resolve({ status: res.statusCode ?? 0, sent }));
        },
      );
      // The server closes the connection after its answer: writes after that fail, as they should.
      req.on('error', (error) => {
        if (!answered) reject(error);
      });
      const pump = () => {
        while (!answered && sent < total) {
          sent += chunk.length;
          if (!req.write(chunk)) return void req.once('drain', pump);
        }
        if (!answered) req.end();
      };
      pump();
    });
    const growth = web.rss() - rssBefore;
    console.info(
      `300 MB chunked POST: 413 after ${(sent / 2 ** 20).toFixed(1)} MiB sent; RSS growth ${(growth / 2 ** 20).toFixed(1)} MiB`,
    );
    expect(status).toBe(413);
    expect(sent).toBeLessThan(64 * 2 ** 20); // cut early: what the sockets' buffers held, not 300 MB
    expect(growth).toBeLessThan(32 * 2 ** 20); // the old server grew by ~1 GB
  });

  it('Content-Length: 10 MB is refused (413) before a byte of the body is sent', async () => {
    const answer = await rawExchange(
      web.port,
      `POST /api/session HTTP/1.1\r\nhost: 127.0.0.1:${web.port}\r\ncontent-type: application/json\r\ncontent-length: 10485760\r\n\r\n`,
    );
    expect(answer).toMatch(/^HTTP\/1\.1 413 /);
    expect(bodyOf(answer)).toEqual({
      error: { code: 'PAYLOAD_TOO_LARGE', message: 'body: larger than the 64 KiB limit' },
    });
  });

  it('`Expect: 100-continue` with a body too large gets 413 instead of 100', async () => {
    const answer = await rawExchange(
      web.port,
      `POST /api/session HTTP/1.1\r\nhost: 127.0.0.1:${web.port}\r\ncontent-type: application/json\r\nexpect: 100-continue\r\ncontent-length: 10485760\r\n\r\n`,
    );
    expect(answer).toMatch(/^HTTP\/1\.1 413 /);
  });

  it('a chunked body just under the limit still reaches the route intact', async () => {
    const name = `Padded ${'n'.repeat(30)}`;
    const body = JSON.stringify({ name, padding: 'p'.repeat(63 * 1024) }); // unknown keys are dropped
    expect(Buffer.byteLength(body)).toBeLessThan(64 * 1024);
    const answer = await send(web.url, 'POST', '/api/session', {
      headers: { ...json, ...ownOrigin(), 'transfer-encoding': 'chunked' },
      body,
    });
    expect(answer.status, answer.text).toBe(200);
    expect(answer.json()).toMatchObject({ user: { name } });
  });
});

describe('malformed requests get the contract’s error shape', () => {
  it('headers over Node’s limit: 431 HEADERS_TOO_LARGE', async () => {
    const answer = await rawExchange(
      web.port,
      `GET /healthz HTTP/1.1\r\nhost: 127.0.0.1\r\nx-big: ${'a'.repeat(20_000)}\r\n\r\n`,
    );
    expect(answer).toMatch(/^HTTP\/1\.1 431 /);
    expect(bodyOf(answer)).toEqual({
      error: { code: 'HEADERS_TOO_LARGE', message: 'request headers: larger than the server accepts' },
    });
  });

  it('an Expect other than 100-continue: 417 EXPECTATION_FAILED; CONNECT: 405 METHOD_NOT_ALLOWED', async () => {
    const expectation = await rawExchange(
      web.port,
      `POST /api/session HTTP/1.1\r\nhost: 127.0.0.1\r\nexpect: teapot\r\ncontent-length: 2\r\n\r\n{}`,
    );
    expect(expectation).toMatch(/^HTTP\/1\.1 417 /);
    expect(bodyOf(expectation)).toMatchObject({ error: { code: 'EXPECTATION_FAILED' } });
    const tunnel = await rawExchange(web.port, 'CONNECT example.com:443 HTTP/1.1\r\nhost: example.com:443\r\n\r\n');
    expect(tunnel).toMatch(/^HTTP\/1\.1 405 /);
    expect(bodyOf(tunnel)).toMatchObject({ error: { code: 'METHOD_NOT_ALLOWED' } });
  });

  it('bytes that are not HTTP: 400 BAD_REQUEST', async () => {
    const answer = await rawExchange(web.port, 'NOT HTTP AT ALL\r\n\r\n');
    expect(answer).toMatch(/^HTTP\/1\.1 400 /);
    expect(bodyOf(answer)).toMatchObject({ error: { code: 'BAD_REQUEST' } });
  });

  it('HTTP/1.1 without Host: 400 BAD_REQUEST naming the header', async () => {
    const answer = await rawExchange(web.port, 'GET /healthz HTTP/1.1\r\nconnection: close\r\n\r\n');
    expect(answer).toMatch(/^HTTP\/1\.1 400 /);
    expect(bodyOf(answer)).toEqual({ error: { code: 'BAD_REQUEST', message: 'headers.Host: required in HTTP/1.1' } });
  });
});

describe('client address', () => {
  async function echoServer(trustProxy: string | undefined): Promise<{ url: string; close: () => void }> {
    const handle = edgeHandler({
      trust: compileTrustProxy(trustProxy),
      handle: (req, res) => res.end(String(req.headers['x-ovation-client-address'])),
    });
    const server = createServer(handle);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, close: () => server.close() };
  }
  const spoofed = { 'x-forwarded-for': '203.0.113.7', 'x-ovation-client-address': '198.51.100.1' };

  it('a spoofed X-Forwarded-For or x-ovation-client-address is not believed without TRUST_PROXY', async () => {
    const echo = await echoServer(undefined);
    try {
      expect((await send(echo.url, 'GET', '/', { headers: spoofed })).text).toBe('127.0.0.1');
      expect((await send(echo.url, 'POST', '/', { headers: { ...spoofed, ...json }, body: '{}' })).text).toBe(
        '127.0.0.1',
      );
    } finally {
      echo.close();
    }
  });

  it('X-Forwarded-For is believed from a proxy named in TRUST_PROXY; the client’s own header never', async () => {
    const echo = await echoServer('loopback');
    try {
      expect((await send(echo.url, 'GET', '/', { headers: spoofed })).text).toBe('203.0.113.7');
    } finally {
      echo.close();
    }
  });
});

describe('trace context', () => {
  const traceparent = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-00';
  /** What the handler behind the edge sees of the trace headers, from a peer the edge trusts or not. */
  async function seen(trustProxy: string | undefined): Promise<string> {
    const handle = edgeHandler({
      trust: compileTrustProxy(trustProxy),
      handle: (req, res) => {
        const raw = req.rawHeaders.filter((_, i) => i % 2 === 0).map((name) => name.toLowerCase());
        res.end(`${req.headers.traceparent ?? '-'} ${req.headers.tracestate ?? '-'} ${raw.includes('traceparent')}`);
      },
    });
    const server = createServer(handle);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      return (await send(url, 'GET', '/', { headers: { traceparent, tracestate: 'vendor=1' } })).text;
    } finally {
      server.close();
    }
  }

  it("a client's traceparent is dropped (it would pick its trace and whether it is sampled); a trusted proxy's is kept", async () => {
    expect(await seen(undefined)).toBe('- - false');
    expect(await seen('loopback')).toBe(`${traceparent} vendor=1 true`);
  });
});

describe('response headers', () => {
  it('a page has a CSP with a fresh nonce on its scripts, frame-ancestors none, nosniff, Referrer-Policy, HSTS', async () => {
    const first = await send(web.url, 'GET', '/');
    const second = await send(web.url, 'GET', '/');
    expect(first.status).toBe(200);
    const csp = String(first.headers['content-security-policy']);
    const nonce = /'nonce-([^']+)'/.exec(csp)?.[1];
    expect(nonce).toBeDefined();
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).toContain("object-src 'none'");
    expect(csp).not.toContain("'unsafe-eval'");
    const scripts = [...first.text.matchAll(/<script\b[^>]*>/g)].map((m) => m[0]);
    expect(scripts.length).toBeGreaterThan(0);
    for (const script of scripts) expect(script).toContain(`nonce="${nonce}"`);
    expect(String(second.headers['content-security-policy'])).not.toContain(`'nonce-${nonce}'`);
    expect(first.headers['x-content-type-options']).toBe('nosniff');
    expect(first.headers['referrer-policy']).toBe('strict-origin-when-cross-origin');
    expect(first.headers['strict-transport-security']).toMatch(/^max-age=\d+/);
    expect(first.headers['x-frame-options']).toBe('DENY');
  });

  it('an idle keep-alive connection is kept 72 s, longer than a proxy keeps one (Keep-Alive: timeout=72)', async () => {
    const answer = await send(web.url, 'GET', '/api/session', { headers: { connection: 'keep-alive' } });
    expect(answer.headers['keep-alive']).toBe('timeout=72');
  });

  it('API answers, refusals and the server’s own errors carry them too', async () => {
    for (const answer of [
      await send(web.url, 'GET', '/api/session'),
      await send(web.url, 'POST', '/api/session', {
        headers: { ...json, origin: 'http://attacker.example' },
        body: '{}',
      }),
      await send(web.url, 'GET', '/no-such-page'),
    ]) {
      expect(answer.headers['x-content-type-options']).toBe('nosniff');
      expect(answer.headers['referrer-policy']).toBe('strict-origin-when-cross-origin');
      expect(String(answer.headers['content-security-policy'])).toContain('frame-ancestors');
    }
    const tooLarge = await rawExchange(
      web.port,
      `POST /api/session HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-type: application/json\r\ncontent-length: 1048576\r\n\r\n`,
    );
    expect(tooLarge).toMatch(/^HTTP\/1\.1 413 /);
    expect(tooLarge).toMatch(/\r\nx-content-type-options: nosniff\r\n/);
    expect(tooLarge).toMatch(/\r\ncontent-security-policy: default-src 'none'; frame-ancestors 'none'\r\n/);
  });
});

describe('metrics', () => {
  it('/metrics answers 401 without the internal token or with a wrong one, and the metrics with it', async () => {
    expect((await send(web.url, 'GET', '/metrics')).status).toBe(401);
    const wrong = await send(web.url, 'GET', '/metrics', { headers: { authorization: 'Bearer not-the-token' } });
    expect(wrong.status).toBe(401);
    expect(wrong.json()).toMatchObject({ error: { code: 'UNAUTHORIZED' } });
    const right = await send(web.url, 'GET', '/metrics', { headers: { authorization: `Bearer ${TEST_TOKEN}` } });
    expect(right.status).toBe(200);
    expect(right.text).toContain('process_resident_memory_bytes');
  });
});

describe('secrets and shutdown', () => {
  it('production refuses to start with a default secret from the source, set explicitly', async () => {
    const refused = WebProcess.spawn({ NODE_ENV: 'production', ...SECRETS, INTERNAL_TOKEN: 'dev-internal-token' });
    expect(await refused.exit).toBe(1);
    expect(refused.output).toContain('Invalid environment variable INTERNAL_TOKEN: is a development default');
  });

  it('production refuses to start without CONNECT_TOKEN_SECRET', async () => {
    const refused = WebProcess.spawn({ NODE_ENV: 'production', ...SECRETS, CONNECT_TOKEN_SECRET: '' });
    expect(await refused.exit).toBe(1);
    expect(refused.output).toContain('CONNECT_TOKEN_SECRET: required when NODE_ENV=production');
  });

  it('SIGTERM: a request in flight is answered, then the process exits 0', async () => {
    const other = await WebProcess.start({ DISPATCHER_URLS: dispatcher.url });
    const body = '{"name":"Late"}';
    const req = request(`${other.url}/api/session`, {
      method: 'POST',
      headers: { ...json, 'content-length': String(body.length) },
    });
    const answer = new Promise<number>((resolve, reject) => {
      req.on('response', (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on('error', reject);
    });
    req.write(body.slice(0, 5));
    await new Promise<void>((resolve) => req.once('socket', (socket) => socket.once('connect', () => resolve())));
    other.child.kill('SIGTERM');
    // Stopped accepting: a new connection is refused. The half-sent request is still answered.
    await waitFor('the server to stop accepting', () =>
      fetch(`${other.url}/healthz`).then(
        () => false,
        (error: unknown) => isConnectionRefused(error),
      ),
    );
    req.end(body.slice(5));
    expect(await answer).toBe(200);
    expect(await other.exit).toBe(0);
  });
});
