import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '../../test-support/poll.js';
import { ServiceProcess } from '../../test-support/services.js';
import { TestViewer } from '../../test-support/sse-client.js';
import { WebProcess } from '../../test-support/web-process.js';

/*
 * Tracing as deployed: the built web (Next), dispatcher and realtime node as processes, each with
 * OTEL_EXPORTER_OTLP_ENDPOINT naming a collector this test plays (OTLP/HTTP with JSON bodies). A
 * comment posted through the product API must come out as one trace from the web's request to
 * the dispatcher's publish, and the node's delivery linked to it — across three processes, with
 * Next's own bundling in the way (tracing.ts's state must survive being loaded twice).
 */

interface ExportedSpan {
  service: string;
  name: string;
  traceId: string;
  spanId: string;
  parentSpanId: string;
  links: string[];
}

const spans: ExportedSpan[] = [];
let collector: Server;
let dispatcher: ServiceProcess;
let node: ServiceProcess;
let web: WebProcess;

/** An OTLP/HTTP collector: keeps every span of every `POST /v1/traces`. */
function collect(body: string): void {
  const request = JSON.parse(body) as {
    resourceSpans?: Array<{
      resource?: { attributes?: Array<{ key: string; value: { stringValue?: string } }> };
      scopeSpans?: Array<{
        spans?: Array<{
          name: string;
          traceId: string;
          spanId: string;
          parentSpanId?: string;
          links?: Array<{ spanId: string }>;
        }>;
      }>;
    }>;
  };
  for (const resource of request.resourceSpans ?? []) {
    const service = resource.resource?.attributes?.find((a) => a.key === 'service.name')?.value.stringValue ?? '';
    for (const scope of resource.scopeSpans ?? []) {
      for (const span of scope.spans ?? []) {
        spans.push({
          service,
          name: span.name,
          traceId: span.traceId,
          spanId: span.spanId,
          parentSpanId: span.parentSpanId ?? '',
          links: (span.links ?? []).map((link) => link.spanId),
        });
      }
    }
  }
}

beforeAll(async () => {
  collector = createServer((request, response) => {
    let body = '';
    request.setEncoding('utf8');
    request.on('data', (chunk: string) => {
      body += chunk;
    });
    request.on('end', () => {
      if (request.url === '/v1/traces') collect(body);
      response.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((resolve) => collector.listen(0, '127.0.0.1', resolve));
  const otel = { OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${(collector.address() as AddressInfo).port}` };
  dispatcher = await ServiceProcess.start('dispatcher', otel);
  node = await ServiceProcess.start('realtime', { ...otel, DISPATCHER_URLS: dispatcher.url, NODE_HEARTBEAT_MS: '200' });
  web = await WebProcess.start({ ...otel, DISPATCHER_URLS: dispatcher.url, REALTIME_URLS: node.url });
});

afterAll(async () => {
  await web?.stop();
  await node?.kill();
  await dispatcher?.kill();
  await new Promise((resolve) => collector?.close(resolve));
});

describe('tracing across the processes', () => {
  it('exports one trace from the web request through publish, and the delivery to the node linked to it', async () => {
    const viewer = await TestViewer.connect(`${node.url}/connect?topics=video:demo`);
    const own = { 'content-type': 'application/json', origin: web.url };
    const session = await fetch(`${web.url}/api/session`, {
      method: 'POST',
      headers: own,
      body: JSON.stringify({ name: 'Tracer' }),
    });
    expect(session.status).toBe(200);
    const cookie = session.headers.getSetCookie()[0]?.split(';')[0] ?? '';
    const posted = await fetch(`${web.url}/api/videos/demo/comments`, {
      method: 'POST',
      headers: { ...own, cookie },
      body: JSON.stringify({ text: 'traced' }),
    });
    expect(posted.status).toBe(201);
    await waitFor('the viewer to get the comment', () => viewer.events('comment').length === 1);
    viewer.close();

    // Spans leave each process in batches (every 5 s by default).
    const publish = await waitFor(
      "the dispatcher's publish span",
      () => spans.find((span) => span.service === 'ovation-dispatcher' && span.name === 'POST /publish'),
      { timeoutMs: 20_000, intervalMs: 200 },
    );
    const request = spans.find((span) => span.spanId === publish.parentSpanId);
    expect(request?.service).toBe('ovation-web');
    expect(request?.traceId).toBe(publish.traceId);
    // Next's span of the route, under its span of the request.
    expect(request?.name).toContain('/api/videos/[id]/comments');

    const delivery = await waitFor(
      'the delivery linked to the publish',
      () => spans.find((span) => span.name === 'deliver' && span.links.includes(publish.spanId)),
      { timeoutMs: 20_000, intervalMs: 200 },
    );
    const received = await waitFor(
      "the node's span of the delivery",
      () => spans.find((span) => span.service === 'ovation-realtime' && span.parentSpanId === delivery.spanId),
      { timeoutMs: 20_000, intervalMs: 200 },
    );
    expect(received.name).toBe('POST /internal/deliver');
    expect(received.traceId).toBe(delivery.traceId);
  });
});
