import { LogController } from 'fastify';
import { DEFAULT_BODY_LIMIT_BYTES } from '../limits.js';

/**
 * Options every Ovation Fastify service starts with: pino at the configured level, no log line
 * per request (publishes and SSE connects are hot paths), and the contract's 64 KiB body limit.
 */
export function serviceFastifyOptions(logLevel: string) {
  return {
    logger: { level: logLevel },
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: DEFAULT_BODY_LIMIT_BYTES,
  };
}
