import { timingSafeEqual } from 'node:crypto';
import { type IncomingMessage, type Server, type ServerResponse, STATUS_CODES } from 'node:http';
import type { Duplex } from 'node:stream';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { AppError, type ErrorCode } from '../errors.js';

/*
 * One error handler for every Fastify service: whatever is thrown leaves as the contract's
 * `{ error: { code, message } }` with the right status, and never as a stack trace.
 */

const FASTIFY_CODES: Record<string, ErrorCode> = {
  FST_ERR_CTP_INVALID_JSON_BODY: 'INVALID_JSON',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'INVALID_JSON',
  FST_ERR_CTP_BODY_TOO_LARGE: 'PAYLOAD_TOO_LARGE',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'BAD_REQUEST',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'UNSUPPORTED_MEDIA_TYPE',
  FST_ERR_VALIDATION: 'VALIDATION_FAILED',
  FST_ERR_MAX_PARAM_LENGTH: 'URI_TOO_LONG',
  FST_ERR_BAD_URL: 'BAD_REQUEST',
  FST_ERR_ASYNC_CONSTRAINT: 'BAD_REQUEST',
};

export function toAppError(error: unknown): AppError {
  if (error instanceof AppError) return error;
  const fastifyError = error as Partial<FastifyError> | undefined;
  const mapped = fastifyError?.code ? FASTIFY_CODES[fastifyError.code] : undefined;
  if (mapped === 'INVALID_JSON') return new AppError(mapped, 'body: not valid JSON', { cause: error });
  if (mapped === 'PAYLOAD_TOO_LARGE') return new AppError(mapped, 'body: larger than the limit', { cause: error });
  if (mapped === 'URI_TOO_LONG') return new AppError(mapped, 'a path parameter is too long', { cause: error });
  if (mapped) return new AppError(mapped, fastifyError?.message ?? mapped, { cause: error });
  if (error instanceof SyntaxError && fastifyError?.statusCode === 400) {
    return new AppError('INVALID_JSON', 'body: not valid JSON', { cause: error });
  }
  const status = fastifyError?.statusCode;
  if (status !== undefined && status >= 400 && status < 500) {
    return new AppError('BAD_REQUEST', fastifyError?.message ?? 'bad request', { cause: error });
  }
  return new AppError('INTERNAL', 'internal error', { cause: error });
}

export function sendError(reply: FastifyReply, error: AppError): FastifyReply {
  if (error.retryAfterSeconds !== undefined) reply.header('retry-after', String(error.retryAfterSeconds));
  // Refused before its body was read (no token, too large, wrong type): close rather than read and
  // discard the rest, so an endless or huge body costs the server nothing more.
  if (!reply.request.raw.complete) reply.header('connection', 'close');
  return reply.code(error.status).type('application/json').send(error.toBody());
}

/*
 * Node's HTTP server answers some requests itself, before Fastify (or the realtime node's raw
 * /connect handler) sees them; these make those answers the contract's shape too:
 *
 *   unparseable request (bad request line, header, chunk; CL+TE)  400 BAD_REQUEST      'clientError'
 *   request line + headers over 16 KiB (--max-http-header-size)   431 HEADERS_TOO_LARGE
 *   headers/request not received in time (headersTimeout…)        408 REQUEST_TIMEOUT
 *   HTTP/1.1 without Host                                         400 BAD_REQUEST      'request'
 *   Expect: anything but 100-continue                             417 EXPECTATION_FAILED
 *   CONNECT (Node would drop the socket without a word)           405 METHOD_NOT_ALLOWED
 *
 * Each answer closes the connection: the parser's state is unknown after such a request.
 */

const CLIENT_ERRORS: Record<string, AppError> = {
  HPE_HEADER_OVERFLOW: new AppError('HEADERS_TOO_LARGE', 'request line and headers: larger than the 16 KiB limit'),
  HPE_CHUNK_EXTENSIONS_OVERFLOW: new AppError('PAYLOAD_TOO_LARGE', 'chunk extensions: larger than the limit'),
  ERR_HTTP_REQUEST_TIMEOUT: new AppError('REQUEST_TIMEOUT', 'request: not received in time'),
};

function rawResponse(error: AppError): string {
  const body = JSON.stringify(error.toBody());
  return (
    `HTTP/1.1 ${error.status} ${STATUS_CODES[error.status]}\r\n` +
    `content-type: application/json; charset=utf-8\r\ncontent-length: ${Buffer.byteLength(body)}\r\n` +
    `connection: close\r\n\r\n${body}`
  );
}

function sendRaw(res: ServerResponse, error: AppError): void {
  const body = JSON.stringify(error.toBody());
  res.writeHead(error.status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(body),
    connection: 'close',
  });
  res.end(body);
}

/** Fastify's `clientErrorHandler`: what Node could not parse, answered in the contract's shape. */
export function answerClientError(this: FastifyInstance, error: NodeJS.ErrnoException, socket: Duplex): void {
  if (error.code === 'ECONNRESET' || socket.destroyed) return;
  const appError =
    CLIENT_ERRORS[error.code ?? ''] ??
    new AppError('BAD_REQUEST', `malformed HTTP request${error.code?.startsWith('HPE_') ? ` (${error.code})` : ''}`);
  this.log.debug({ code: error.code }, appError.message);
  // A response already under way on this socket (a body that broke mid-request) cannot be replaced.
  const inFlight = (socket as Duplex & { _httpMessage?: ServerResponse })._httpMessage;
  if (socket.writable && !inFlight?.headersSent) socket.write(rawResponse(appError));
  socket.destroy();
}

function answerNodeLevelRequests(server: Server): void {
  server.on('connect', (_request: IncomingMessage, socket: Duplex) => {
    if (socket.writable) socket.write(rawResponse(new AppError('METHOD_NOT_ALLOWED', 'CONNECT is not supported')));
    socket.destroy();
  });
  server.on('checkExpectation', (request: IncomingMessage, res: ServerResponse) =>
    sendRaw(
      res,
      new AppError('EXPECTATION_FAILED', `Expect: only 100-continue is supported, not ${request.headers.expect}`),
    ),
  );
  // Node answers an HTTP/1.1 request without Host with an empty 400 of its own; answer it here
  // instead, in front of every handler of the server (Fastify's and the realtime node's /connect).
  (server as Server & { requireHostHeader: boolean }).requireHostHeader = false;
  const handlers = server.listeners('request') as Array<(req: IncomingMessage, res: ServerResponse) => void>;
  server.removeAllListeners('request');
  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    if (req.headers.host === undefined && req.httpVersionMajor === 1 && req.httpVersionMinor === 1) {
      sendRaw(res, new AppError('BAD_REQUEST', 'Host: required in HTTP/1.1'));
      return;
    }
    for (const handler of handlers) handler.call(server, req, res);
  });
}

export function installErrorHandling(app: FastifyInstance): void {
  answerNodeLevelRequests(app.server);
  // Bodies are JSON: anything else is 415 before it is read (Fastify would also parse text/plain).
  app.removeContentTypeParser('text/plain');
  app.setErrorHandler((error, request, reply) => {
    const appError = toAppError(error);
    if (appError.status >= 500) request.log.error({ err: error }, 'request failed');
    else request.log.debug({ code: appError.code }, appError.message);
    return sendError(reply, appError);
  });
  app.setNotFoundHandler((request, reply) =>
    sendError(reply, new AppError('NOT_FOUND', `no route ${request.method} ${request.url.split('?')[0]}`)),
  );
}

export type InternalAuth = (request: FastifyRequest) => Promise<void>;

/**
 * Guards service-to-service routes (and /metrics) with `Authorization: Bearer <INTERNAL_TOKEN>`.
 * Use it as the route's `onRequest` hook: it runs before the body is read, so a caller without the
 * token cannot make the service buffer and parse a body (sendError then closes the connection).
 */
export function requireInternalToken(token: string): InternalAuth {
  const expected = Buffer.from(`Bearer ${token}`);
  return async (request: FastifyRequest): Promise<void> => {
    const header = request.headers.authorization;
    if (!header) throw new AppError('UNAUTHORIZED', 'missing Authorization: Bearer <INTERNAL_TOKEN>');
    const given = Buffer.from(header);
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
      throw new AppError('UNAUTHORIZED', 'wrong internal token');
    }
  };
}
