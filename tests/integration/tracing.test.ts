import { context, SpanKind, trace } from '@opentelemetry/api';
import { InMemorySpanExporter, type ReadableSpan } from '@opentelemetry/sdk-trace';
import { startTracing, type Tracing } from '@ovation/shared/server';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DispatcherClient } from '../../apps/web/lib/server/dispatcher.js';
import { startPipe } from '../../test-support/pipe.js';
import { waitFor } from '../../test-support/poll.js';
import { TestViewer } from '../../test-support/sse-client.js';

/*
 * One event's trace, with the spans exported in memory: the web route's span (Next makes it; here
 * the test) → the web's publish (DispatcherClient, through @ovation/publisher) → the dispatcher's
 * POST /publish (through `traceparent`) → its accept → the delivery to the node
 * (one batch of possibly many publishes: a span linked to the publish) → the node's
 * POST /internal/deliver (through `traceparent`). A real dispatcher and node, in this process.
 */

const TOKEN = 'tracing-test-token-0123456789';
const exporter = new InMemorySpanExporter();
let tracing: Tracing;
let dispatcher: FastifyInstance;
let node: FastifyInstance;
let dispatcherUrl: string;
let nodeUrl: string;

beforeAll(async () => {
  tracing = startTracing({ serviceName: 'tracing-test', exporter });
  ({ dispatcher, node, dispatcherUrl, nodeUrl } = await startPipe(TOKEN));
});

afterAll(async () => {
  await node?.close();
  await dispatcher?.close();
  await tracing?.shutdown();
});

const named = (name: string) => exporter.getFinishedSpans().filter((span) => span.name === name);
const parentOf = (span: ReadableSpan) => span.parentSpanContext?.spanId;

describe('tracing', () => {
  it("links one event's spans from the caller through publish, accept and the node's delivery", async () => {
    const viewer = await TestViewer.connect(`${nodeUrl}/connect?topics=video:traced`);
    const caller = trace.getTracer('test').startSpan('POST /api/videos/:id/comments', { kind: SpanKind.SERVER });
    const web = new DispatcherClient([dispatcherUrl], TOKEN);
    const ids = await context.with(trace.setSpan(context.active(), caller), () =>
      web.publish([{ topic: 'video:traced', type: 'comment', data: { text: 'traced' } }], {
        idempotencyKey: 'traced-1',
      }),
    );
    caller.end();
    expect(ids).toHaveLength(1);
    await waitFor('the viewer to get the comment', () => viewer.events('comment').length === 1);
    viewer.close();

    const traceId = caller.spanContext().traceId;
    const [publish] = await waitFor('the publish span', () =>
      named('POST /publish').length > 0 ? named('POST /publish') : undefined,
    );
    expect(publish?.spanContext().traceId).toBe(traceId);
    expect(parentOf(publish as ReadableSpan)).toBe(caller.spanContext().spanId);
    expect(publish?.kind).toBe(SpanKind.SERVER);

    const accept = named('accept').find((span) => span.spanContext().traceId === traceId);
    expect(accept && parentOf(accept)).toBe(publish?.spanContext().spanId);

    const deliveries = await waitFor('the delivery span', () => {
      const linked = named('deliver').filter((span) =>
        span.links.some((link) => link.context.spanId === publish?.spanContext().spanId),
      );
      return linked.length > 0 ? linked : undefined;
    });
    expect(deliveries).toHaveLength(1);
    const delivery = deliveries[0] as ReadableSpan;
    expect(delivery.kind).toBe(SpanKind.CLIENT);

    const received = await waitFor('the node span', () =>
      named('POST /internal/deliver').find((span) => parentOf(span) === delivery.spanContext().spanId),
    );
    expect(received.spanContext().traceId).toBe(delivery.spanContext().traceId);
    expect(received.kind).toBe(SpanKind.SERVER);
    expect(received.attributes['ovation.events']).toBeGreaterThanOrEqual(1);
  });
});
