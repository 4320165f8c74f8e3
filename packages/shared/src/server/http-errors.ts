import { timingSafeEqual } from 'node:crypto';
import type { Duplex } from 'node:stream';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { AppError, type ErrorCode } from '../errors.js';
import { answerClientError as answerNodeClientError, answerNodeLevelRequests } from './node-answers.js';

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

/** Fastify's `clientErrorHandler`: what Node could not parse, answered in the contract's shape (node-answers.ts). */
export function answerClientError(this: FastifyInstance, error: NodeJS.ErrnoException, socket: Duplex): void {
  const answered = answerNodeClientError(error, socket);
  if (answered) this.log.debug({ code: error.code }, answered.message);
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
