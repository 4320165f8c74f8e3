import {
  type Attributes,
  type Context,
  context,
  INVALID_SPAN_CONTEXT,
  type Link,
  propagation,
  ROOT_CONTEXT,
  type Span,
  type SpanContext,
  SpanKind,
  SpanStatusCode,
  trace,
} from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import {
  BatchSpanProcessor,
  SimpleSpanProcessor,
  type SpanExporter,
  type SpanProcessor,
  TracerProvider,
} from '@opentelemetry/sdk-trace';

/*
 * OpenTelemetry traces along an event's path, one trace per publish:
 *
 *   web  POST /api/videos/:id/comments ──traceparent──▶ dispatcher  POST /publish
 *                                                          └─ accept (the topic log's round trip)
 *   dispatcher  deliver → node  (one batch of many publishes: a span linked to each one's)
 *        ──traceparent──▶ realtime  POST /internal/deliver ─ written to the node's viewers
 *
 * W3C Trace Context (`traceparent`) is carried on each HTTP hop. Exported over OTLP/HTTP when
 * OTEL_EXPORTER_OTLP_ENDPOINT is set (the exporter reads the other standard OTEL_EXPORTER_OTLP_*
 * variables itself); off otherwise. Off, nothing is registered: the API's no-op tracer costs a
 * function call per span, and the hot paths ask `tracingOn()` before keeping anything per event.
 */

/**
 * Whether this process started tracing, kept on `globalThis`: a bundler may load this module more
 * than once in one process (Next bundles the instrumentation hook and each route apart), and every
 * copy must see what `startTracing` did.
 */
const ON = Symbol.for('ovation.tracing.on');
const state = globalThis as { [ON]?: boolean };

export interface TracingOptions {
  /** `service.name` of the spans: `ovation-dispatcher`, `ovation-realtime`, `ovation-web`. */
  serviceName: string;
  /** The OTLP collector's base URL (OTEL_EXPORTER_OTLP_ENDPOINT); no endpoint, no exporter: off. */
  endpoint?: string | undefined;
  /** Spans go here instead, each as it ends (tests: an InMemorySpanExporter). */
  exporter?: SpanExporter;
}

export interface Tracing {
  /** Sends what is still buffered and stops; the process can exit after. */
  shutdown(): Promise<void>;
}

/** Registers the tracer provider, W3C propagation and async context for this process (once). */
export function startTracing(options: TracingOptions): Tracing {
  let processor: SpanProcessor;
  if (options.exporter) processor = new SimpleSpanProcessor({ exporter: options.exporter });
  else if (options.endpoint) {
    processor = new BatchSpanProcessor({ exporter: new OTLPTraceExporter({ url: tracesUrl(options.endpoint) }) });
  } else return { shutdown: async () => {} };
  const provider = new TracerProvider({
    resource: resourceFromAttributes({ 'service.name': options.serviceName }),
    spanProcessors: [processor],
  });
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  propagation.setGlobalPropagator(new W3CTraceContextPropagator());
  trace.setGlobalTracerProvider(provider);
  state[ON] = true;
  return {
    shutdown: async () => {
      state[ON] = false;
      await provider.shutdown();
      trace.disable();
      propagation.disable();
      context.disable();
    },
  };
}

/** The standard's rule: the base endpoint gets `/v1/traces` (a signal-specific one would not). */
function tracesUrl(endpoint: string): string {
  return `${endpoint.replace(/\/+$/, '')}/v1/traces`;
}

/** Whether spans are recorded: hot paths keep per-event trace context only then. */
export function tracingOn(): boolean {
  return state[ON] === true;
}

const tracer = () => trace.getTracer('ovation');

/** The context a request's `traceparent` names (none: the root, and its span starts a trace). */
export function contextFrom(headers: Readonly<Record<string, string | string[] | undefined>>): Context {
  return propagation.extract(ROOT_CONTEXT, headers);
}

/** `headers` with the current span's `traceparent` added (tracing off: unchanged). */
export function withTraceHeaders(
  headers: Record<string, string>,
  from: Context = context.active(),
): Record<string, string> {
  if (tracingOn()) propagation.inject(from, headers);
  return headers;
}

/** The active span's context, to link a later span (a batch of many publishes) to it. */
export function activeSpanContext(): SpanContext | undefined {
  return tracingOn() ? trace.getActiveSpan()?.spanContext() : undefined;
}

/** What `work` gets with tracing off: a span that records nothing (one for the process). */
const NOT_RECORDING: Span = trace.wrapSpanContext(INVALID_SPAN_CONTEXT);

/**
 * Runs `work` in a span `name`, child of `parent` (default: the active context), active for
 * what `work` calls; the span ends when it settles, and an error marks it failed. Tracing off,
 * `work` just runs.
 */
export async function inSpan<T>(
  name: string,
  work: (span: Span) => Promise<T>,
  options: { kind?: SpanKind; parent?: Context; links?: Link[]; attributes?: Attributes } = {},
): Promise<T> {
  if (!tracingOn()) return work(NOT_RECORDING);
  const { kind = SpanKind.INTERNAL, parent = context.active(), links, attributes } = options;
  return tracer().startActiveSpan(
    name,
    { kind, ...(links ? { links } : {}), ...(attributes ? { attributes } : {}) },
    parent,
    async (span) => {
      try {
        return await work(span);
      } catch (error) {
        span.setStatus({ code: SpanStatusCode.ERROR, message: error instanceof Error ? error.message : String(error) });
        throw error;
      } finally {
        span.end();
      }
    },
  );
}

/** The context with no span: a span started in it begins a trace of its own. */
export const rootContext: Context = ROOT_CONTEXT;

export { SpanKind };
