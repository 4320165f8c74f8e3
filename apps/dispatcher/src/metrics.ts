import { Counter, collectDefaultMetrics, Histogram, Registry } from 'prom-client';

/** The dispatcher's Prometheus metrics, one registry per app instance (tests build several). */
export function createDispatcherMetrics() {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  return {
    registry,
    publishedEvents: new Counter({
      name: 'dispatcher_published_events_total',
      help: 'Events accepted by POST /publish (and internal publishes such as viewer counts).',
      labelNames: ['type'],
      registers: [registry],
    }),
    publishRequests: new Counter({
      name: 'dispatcher_publish_requests_total',
      help: 'POST /publish requests by outcome.',
      labelNames: ['outcome'],
      registers: [registry],
    }),
    nodeDeliveries: new Counter({
      name: 'dispatcher_node_events_total',
      help: 'Events delivered to each realtime node.',
      labelNames: ['node'],
      registers: [registry],
    }),
    nodeBatches: new Counter({
      name: 'dispatcher_node_batches_total',
      help: 'HTTP batches sent to realtime nodes, by outcome.',
      labelNames: ['outcome'],
      registers: [registry],
    }),
    dropped: new Counter({
      name: 'dispatcher_dropped_events_total',
      help: 'Event deliveries to a node given up, by reason.',
      labelNames: ['reason'],
      registers: [registry],
    }),
    registryLatency: new Histogram({
      name: 'dispatcher_registry_seconds',
      help: 'Latency of subscription registry operations.',
      labelNames: ['op'],
      buckets: [0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
      registers: [registry],
    }),
  };
}

export type DispatcherMetrics = ReturnType<typeof createDispatcherMetrics>;

/** Runs `op`, observing its duration under `name`. */
export async function timed<T>(metrics: DispatcherMetrics, name: string, op: () => Promise<T>): Promise<T> {
  const end = metrics.registryLatency.startTimer({ op: name });
  try {
    return await op();
  } finally {
    end();
  }
}
