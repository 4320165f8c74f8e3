// The web tier's process: Next's request handler behind a node:http server that owns the raw HTTP.
// `next start` cannot do what this does before Next sees a request:
//
//   socket ─▶ clientError, CONNECT, Expect, no Host? ─▶ 400/405/408/417/431 in the contract's shape
//          ─▶ request ─▶ x-ovation-client-address from the socket + TRUST_PROXY (the client's own
//                        value removed: Next passes X-Forwarded-For on as the client wrote it)
//                     ─▶ body over 64 KiB? ─▶ 413 before it is read (Content-Length), or as soon as
//                        a chunked body passes 64 KiB — a route's `request.text()` would otherwise
//                        hold all of it (a 300 MB chunked POST took the process to 1.1 GB)
//                     ─▶ Next (proxy.ts: CSRF check, CSP; then pages and route handlers)
//
// Usage: `node server.mjs` (HOST, PORT, TRUST_PROXY; NODE_ENV defaults to production, as with
// `next start`). SIGTERM/SIGINT: stop accepting, finish what is in flight (10 s at most), exit.
import { createServer, IncomingMessage } from 'node:http';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DEFAULT_BODY_LIMIT_BYTES, env, parseEnv } from '@ovation/shared';
import { addressKey, clientAddress, compileTrustProxy } from '@ovation/shared/client-address';
import { answerClientError, answerNodeLevelRequests } from '@ovation/shared/node-answers';
import { z } from 'zod';

/** Set here, read by route handlers (apps/web/lib/server/client-address.ts). */
const CLIENT_ADDRESS_HEADER = 'x-ovation-client-address';
const SHUTDOWN_MS = 10_000;
const LINGER_MS = 1000;

/** Headers on every response, Next's and this server's own (proxy.ts adds the CSP to Next's). */
export function baseHeaders(production) {
  return {
    'x-content-type-options': 'nosniff',
    'referrer-policy': 'strict-origin-when-cross-origin',
    ...(production ? { 'strict-transport-security': 'max-age=31536000; includeSubDomains' } : {}),
  };
}

/** The contract's error body, for this server's own answers. */
function errorBody(code, message) {
  return JSON.stringify({ error: { code, message } });
}

/**
 * The request handler around Next's: `handle(req, res)` receives a request whose client address
 * header is this server's and whose body, if any, is complete and at most `bodyLimit` bytes.
 */
export function edgeHandler({ handle, trust, bodyLimit = DEFAULT_BODY_LIMIT_BYTES, headers = {} }) {
  const refuse = (res, status, code, message) => {
    const body = errorBody(code, message);
    res.writeHead(status, {
      ...headers,
      'content-type': 'application/json; charset=utf-8',
      'content-length': Buffer.byteLength(body),
      'content-security-policy': "default-src 'none'; frame-ancestors 'none'",
    });
    res.end(body);
  };
  const pass = (req, res) =>
    Promise.resolve(handle(req, res)).catch((error) => {
      console.error(error);
      if (!res.headersSent) refuse(res, 500, 'INTERNAL', 'internal error');
      else res.destroy();
    });
  // A body over the limit: answer 413, then drop what still arrives for LINGER_MS and close. A
  // client still sending would meet a reset instead of reading the answer if the socket closed at
  // once; dropped bytes cost no memory.
  const tooLarge = (req, res) => {
    refuse(res, 413, 'PAYLOAD_TOO_LARGE', `body: larger than the ${bodyLimit / 1024} KiB limit`);
    req.removeAllListeners('data');
    req.on('data', () => {});
    req.resume();
    const linger = setTimeout(() => req.socket.destroy(), LINGER_MS);
    req.once('end', () => clearTimeout(linger));
    req.socket.once('close', () => clearTimeout(linger));
  };

  return (req, res) => {
    // A client that reset its connection right after sending has no address any more unless the
    // server noted it when the connection came (rememberPeers); without one it would pass as
    // 'unknown', past every per-address limit and ban. Such a request is not served.
    if (!req.socket.remoteAddress) {
      req.socket.destroy();
      return;
    }
    for (const [name, value] of Object.entries(headers)) res.setHeader(name, value);
    // IPv6 by its /64 (a host may take any address of it), IPv4-mapped as IPv4: the key limits use.
    setClientAddress(req, addressKey(clientAddress(req, trust)));
    // A trace is continued only from a trusted proxy's `traceparent` (OpenTelemetry, when on): a
    // client's would choose its own trace ids and whether its requests are sampled at all.
    if (!trust(req.socket.remoteAddress, 0)) dropHeaders(req, TRACE_HEADERS);

    const declared = req.headers['content-length'];
    if (declared !== undefined && !(Number(declared) <= bodyLimit)) return tooLarge(req, res);
    const chunked = req.headers['transfer-encoding'] !== undefined;
    if (!chunked && !(Number(declared) > 0)) return pass(req, res);

    // Read the body here, counting as it arrives; Next gets a copy of the request with it.
    // Memory per request: at most `bodyLimit` bytes, what a route handler would hold anyway.
    const chunks = [];
    let size = 0;
    req.on('data', (chunk) => {
      size += chunk.length;
      if (size <= bodyLimit) return void chunks.push(chunk);
      req.removeAllListeners('end');
      chunks.length = 0;
      tooLarge(req, res);
    });
    req.on('end', () => pass(withBody(req, chunks), res));
    req.on('error', () => res.destroy());
  };
}

const TRACE_HEADERS = new Set(['traceparent', 'tracestate']);

/** Removes `names` (lower case) from a request, from `rawHeaders` too (Next builds from both). */
function dropHeaders(req, names) {
  if (!Object.keys(req.headers).some((name) => names.has(name))) return;
  for (const name of names) delete req.headers[name];
  const raw = [];
  for (let i = 0; i < req.rawHeaders.length; i += 2) {
    if (!names.has(req.rawHeaders[i].toLowerCase())) raw.push(req.rawHeaders[i], req.rawHeaders[i + 1]);
  }
  req.rawHeaders = raw;
}

function setClientAddress(req, address) {
  req.headers[CLIENT_ADDRESS_HEADER] = address;
  // Next builds its request from `headers`; rawHeaders lose the client's own value too.
  const raw = [];
  for (let i = 0; i < req.rawHeaders.length; i += 2) {
    if (req.rawHeaders[i].toLowerCase() !== CLIENT_ADDRESS_HEADER) raw.push(req.rawHeaders[i], req.rawHeaders[i + 1]);
  }
  raw.push(CLIENT_ADDRESS_HEADER, address);
  req.rawHeaders = raw;
}

/** The request again, as a fresh stream over its complete, already counted body. */
function withBody(req, chunks) {
  const copy = new IncomingMessage(req.socket);
  copy.method = req.method;
  copy.url = req.url;
  copy.httpVersionMajor = req.httpVersionMajor;
  copy.httpVersionMinor = req.httpVersionMinor;
  copy.httpVersion = req.httpVersion;
  copy.rawHeaders = req.rawHeaders;
  copy.headers = req.headers;
  copy.complete = true;
  for (const chunk of chunks) copy.push(chunk);
  copy.push(null);
  return copy;
}

/**
 * Reads each connection's peer address as it is accepted: Node keeps it from then on, so a request
 * whose client reset the connection right after sending still has the address it came from.
 */
export function rememberPeers(server) {
  server.on('connection', (socket) => void socket.remoteAddress);
  return server;
}

function fail(message) {
  process.stderr.write(`web: ${message}\n`);
  process.exit(1);
}

async function main() {
  // Before Next and React load, as `next start` does.
  process.env.NODE_ENV ||= 'production';
  const { default: next } = await import('next');
  let settings;
  try {
    settings = parseEnv(z.object({ HOST: env.host(), PORT: env.port(3000), TRUST_PROXY: z.string().optional() }));
  } catch (error) {
    fail(error.message);
  }
  let trust;
  try {
    trust = compileTrustProxy(settings.TRUST_PROXY);
  } catch (error) {
    fail(`Invalid environment variable TRUST_PROXY: ${error.message}`);
  }
  const dir = dirname(fileURLToPath(import.meta.url));
  // prepare() runs instrumentation.ts, which validates the web's environment (exits on a bad one).
  const app = next({ dev: false, dir, hostname: settings.HOST, port: settings.PORT });
  await app.prepare();
  let closing = false;
  const headers = baseHeaders(process.env.NODE_ENV === 'production');
  const edge = edgeHandler({ handle: app.getRequestHandler(), trust, headers });
  const server = createServer({ requestTimeout: 30_000 }, (req, res) => {
    if (closing) res.setHeader('connection', 'close');
    edge(req, res);
  });
  // An idle keep-alive connection stays 72 s (Fastify's default, as on the other tiers): longer
  // than a reverse proxy or a client keeps one idle (nginx and most balancers: 60 s). With Node's
  // 5 s the server closed connections just as clients sent on them — a reset POST.
  server.keepAliveTimeout = 72_000;
  rememberPeers(server);
  // What Node answers itself (malformed requests, 431, no Host, Expect, CONNECT): the contract's shape.
  server.on('clientError', (error, socket) => void answerClientError(error, socket, headers));
  answerNodeLevelRequests(server, headers);
  server.on('checkContinue', (req, res) => {
    // `Expect: 100-continue` with a body too large: refused before the client sends it.
    if (!(Number(req.headers['content-length'] ?? 0) > DEFAULT_BODY_LIMIT_BYTES)) res.writeContinue();
    edge(req, res);
  });
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(settings.PORT, settings.HOST, resolve);
  });
  console.log(`web: listening on http://${settings.HOST}:${server.address().port}`);

  const shutdown = async () => {
    if (closing) return;
    closing = true;
    const closed = new Promise((resolve) => server.close(resolve));
    // A keep-alive connection whose last request finishes now goes at once, not after its timeout.
    const idle = setInterval(() => server.closeIdleConnections(), 50);
    const force = setTimeout(() => server.closeAllConnections(), SHUTDOWN_MS);
    await closed;
    clearInterval(idle);
    clearTimeout(force);
    await app.close();
    process.exit(0);
  };
  process.on('SIGTERM', shutdown);
  process.on('SIGINT', shutdown);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await main();
