import { AppError, LatencyReportSchema, parseWith } from '@ovation/shared';
import type { FastifyInstance, preHandlerAsyncHookHandler } from 'fastify';
import type { ConnectionHub } from '../connections/hub.js';
import type { LatencyCollector } from '../latency/collector.js';

/** A connection may report once per this many ms (each report up to 100 samples). */
const REPORT_INTERVAL_MS = 1000;

/**
 * POST /latency `{ connectionId, topic, samples: [ms…] }` → 204. Bounded per connection: the
 * connection must be open on this node, a counted viewer (an `observer=1` connection is not one of
 * the viewers whose experience the figure describes: 403) and subscribed to the topic, and may
 * report once a second. A report holds 1–100 samples, each 0–60,000 ms (LatencyReportSchema); one
 * outside that is refused whole (400), not clamped: the client clamps its own honest samples, so
 * such a report comes from a broken or hostile client, which must not pick what gets recorded.
 * `toOwner` (WORKERS > 1): a report for another worker's connection is that worker's to take.
 */
export function latencyRoutes(
  app: FastifyInstance,
  deps: { hub: ConnectionHub; collector: LatencyCollector; toOwner?: preHandlerAsyncHookHandler },
) {
  const forward = deps.toOwner ? { preHandler: deps.toOwner } : {};
  app.post('/latency', { bodyLimit: 8 * 1024, ...forward }, async (request, reply) => {
    const report = parseWith(LatencyReportSchema, request.body);
    const connection = deps.hub.get(report.connectionId);
    if (!connection?.isOpen) {
      throw new AppError('CONNECTION_NOT_FOUND', `no open connection ${report.connectionId} on this node`);
    }
    if (connection.observer) {
      throw new AppError('FORBIDDEN', 'latency reports: only from viewers (this connection is an observer)');
    }
    if (!connection.hasTopic(report.topic)) {
      throw new AppError('VALIDATION_FAILED', `body.topic: connection is not subscribed to ${report.topic}`);
    }
    const now = Date.now();
    if (now - connection.lastLatencyReportAt < REPORT_INTERVAL_MS) {
      throw new AppError('RATE_LIMITED', 'latency reports: at most one per second per connection', {
        retryAfterSeconds: 1,
      });
    }
    connection.lastLatencyReportAt = now;
    deps.collector.record(report.topic, report.samples);
    return reply.code(204).send();
  });
}
