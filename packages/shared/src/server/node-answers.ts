import { type IncomingMessage, type Server, type ServerResponse, STATUS_CODES } from 'node:http';
import type { Duplex } from 'node:stream';
import { AppError } from '../errors.js';

/*
 * Node's HTTP server answers some requests itself, before any handler (Fastify's, the realtime
 * node's raw /connect, the web server's edge) sees them; these make those answers the contract's
 * shape too. No framework here: every Ovation server uses it (`@ovation/shared/node-answers`).
 *
 *   unparseable request (bad request line, header, chunk; CL+TE)  400 BAD_REQUEST      'clientError'
 *   request line + headers over 16 KiB (--max-http-header-size)   431 HEADERS_TOO_LARGE
 *   headers/request not received in time (headersTimeout…)        408 REQUEST_TIMEOUT
 *   HTTP/1.1 without Host                                         400 BAD_REQUEST      'request'
 *   Expect: anything but 100-continue                             417 EXPECTATION_FAILED
 *   CONNECT (Node would drop the socket without a word)           405 METHOD_NOT_ALLOWED
 *
 * Each answer closes the connection: the parser's state is unknown after such a request.
 * `headers`: what the server puts on every answer (the web's nosniff and the like).
 */

const CLIENT_ERRORS: Record<string, AppError> = {
  HPE_HEADER_OVERFLOW: new AppError('HEADERS_TOO_LARGE', 'request headers: larger than the server accepts'),
  HPE_CHUNK_EXTENSIONS_OVERFLOW: new AppError('PAYLOAD_TOO_LARGE', 'chunk extensions: larger than the limit'),
  ERR_HTTP_REQUEST_TIMEOUT: new AppError('REQUEST_TIMEOUT', 'request: not received in time'),
};

function rawResponse(error: AppError, headers: Record<string, string>): string {
  const body = JSON.stringify(error.toBody());
  const extra = Object.entries(headers)
    .map(([name, value]) => `${name}: ${value}\r\n`)
    .join('');
  return (
    `HTTP/1.1 ${error.status} ${STATUS_CODES[error.status]}\r\n` +
    `content-type: application/json; charset=utf-8\r\ncontent-length: ${Buffer.byteLength(body)}\r\n` +
    `${extra}connection: close\r\n\r\n${body}`
  );
}

function sendRaw(res: ServerResponse, error: AppError, headers: Record<string, string>): void {
  const body = JSON.stringify(error.toBody());
  res.writeHead(error.status, {
    ...headers,
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(body),
    connection: 'close',
  });
  res.end(body);
}

/**
 * What Node could not parse ('clientError'), answered in the contract's shape; returns the answer
 * (undefined when the client is gone or a response was already under way: nothing can be said).
 */
export function answerClientError(
  error: NodeJS.ErrnoException,
  socket: Duplex,
  headers: Record<string, string> = {},
): AppError | undefined {
  if (error.code === 'ECONNRESET' || socket.destroyed) return undefined;
  const appError =
    CLIENT_ERRORS[error.code ?? ''] ??
    new AppError('BAD_REQUEST', `malformed HTTP request${error.code?.startsWith('HPE_') ? ` (${error.code})` : ''}`);
  // A response already under way on this socket (a body that broke mid-request) cannot be replaced.
  const inFlight = (socket as Duplex & { _httpMessage?: ServerResponse })._httpMessage;
  const answered = socket.writable && !inFlight?.headersSent;
  if (answered) socket.write(rawResponse(appError, headers));
  socket.destroy();
  return answered ? appError : undefined;
}

/**
 * Answers CONNECT, an unsupported `Expect` and HTTP/1.1 without Host in the contract's shape, in
 * front of every 'request' listener the server has now; Node's own client errors are left to the
 * caller's 'clientError' listener (answerClientError), whose framework may want to log them.
 */
export function answerNodeLevelRequests(server: Server, headers: Record<string, string> = {}): void {
  server.on('connect', (_request: IncomingMessage, socket: Duplex) => {
    if (socket.writable)
      socket.write(rawResponse(new AppError('METHOD_NOT_ALLOWED', 'CONNECT is not supported'), headers));
    socket.destroy();
  });
  server.on('checkExpectation', (request: IncomingMessage, res: ServerResponse) =>
    sendRaw(
      res,
      new AppError('EXPECTATION_FAILED', `Expect: only 100-continue is supported, not ${request.headers.expect}`),
      headers,
    ),
  );
  // Node answers an HTTP/1.1 request without Host with an empty 400 of its own: answered here.
  (server as Server & { requireHostHeader: boolean }).requireHostHeader = false;
  const handlers = server.listeners('request') as Array<(req: IncomingMessage, res: ServerResponse) => void>;
  server.removeAllListeners('request');
  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    if (req.headers.host === undefined && req.httpVersionMajor === 1 && req.httpVersionMinor === 1) {
      sendRaw(res, new AppError('BAD_REQUEST', 'headers.Host: required in HTTP/1.1'), headers);
      return;
    }
    for (const handler of handlers) handler.call(server, req, res);
  });
}
