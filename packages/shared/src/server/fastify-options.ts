import { type FastifyReply, type FastifyRequest, LogController } from 'fastify';
import { DEFAULT_BODY_LIMIT_BYTES } from '../limits.js';
import { answerClientError, sendError, toAppError } from './http-errors.js';

/**
 * Options every Ovation Fastify service starts with: pino at the configured level, no log line
 * per request (publishes and SSE connects are hot paths), and the contract's 64 KiB body limit.
 */
export function serviceFastifyOptions(logLevel: string) {
  return {
    logger: { level: logLevel },
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: DEFAULT_BODY_LIMIT_BYTES,
    // Path parameters carry topics (up to 128 characters); longer ones get a 400 from validation.
    routerOptions: { maxParamLength: 512 },
    // Errors raised before routing (bad URL, over-long parameter) get the contract's shape too.
    frameworkErrors: (error: Error, _request: FastifyRequest, reply: FastifyReply) => {
      sendError(reply, toAppError(error));
    },
    // …and so do requests Node's parser refuses (malformed, 431 headers too large, 408).
    clientErrorHandler: answerClientError,
    // Fastify's own 503 while closing has another shape; a service that sheds load while it
    // closes says so itself (the dispatcher: 503 DRAINING; a realtime node keeps serving).
    return503OnClosing: false,
  };
}
