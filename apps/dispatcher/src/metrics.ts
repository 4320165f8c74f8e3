import { processFaults } from '@ovation/shared/server';
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';

/** The dispatcher's Prometheus metrics, one registry per app instance (tests build several). */
export function createDispatcherMetrics() {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  new Gauge({
    name: 'process_unhandled_rejections',
    help: 'Promise rejections nothing handled since the process started (logged and counted; see installProcessPolicy).',
    registers: [registry],
    collect() {
      this.set(processFaults.unhandledRejections);
    },
  });
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
      help: 'Events delivered to realtime nodes (an event sent to three nodes counts three times).',
      registers: [registry],
    }),
    nodeBatches: new Counter({
      name: 'dispatcher_node_batches_total',
      help: 'HTTP batches sent to realtime nodes, by outcome (ok, failed, retried).',
      labelNames: ['outcome'],
      registers: [registry],
    }),
    dropped: new Counter({
      name: 'dispatcher_dropped_events_total',
      help: 'Event deliveries to a node given up, by reason.',
      labelNames: ['reason'],
      registers: [registry],
    }),
    relayReceived: new Counter({
      name: 'dispatcher_relay_received_total',
      help: 'Events relayed here from other regions, by outcome (accepted, duplicate, invalid).',
      labelNames: ['outcome'],
      registers: [registry],
    }),
    relaySent: new Counter({
      name: 'dispatcher_relay_sent_total',
      help: 'Events relayed to each peer region (accepted by it).',
      labelNames: ['peer'],
      registers: [registry],
    }),
    relayDropped: new Counter({
      name: 'dispatcher_relay_dropped_total',
      help: "Events dropped from a peer region's relay queue because it was full (the oldest go).",
      labelNames: ['peer'],
      registers: [registry],
    }),
    relayFailures: new Counter({
      name: 'dispatcher_relay_failures_total',
      help: 'Relay requests to a peer region that failed (retried with backoff).',
      labelNames: ['peer'],
      registers: [registry],
    }),
    relayQueued: new Gauge({
      name: 'dispatcher_relay_queued',
      help: 'Events waiting to be relayed to each peer region.',
      labelNames: ['peer'],
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

/**
 * Event types named in metric labels: the product's own. Any other type a publisher invents is
 * counted as `other`, so publisher input cannot mint label values (each costs memory forever).
 */
const LABELLED_TYPES = new Set(['like', 'comment', 'comment_deleted', 'viewers', 'status', 'presence']);

export function eventTypeLabel(type: string): string {
  return LABELLED_TYPES.has(type) ? type : 'other';
}

/** Runs `op`, observing its duration under `name`. */
export async function timed<T>(metrics: DispatcherMetrics, name: string, op: () => Promise<T>): Promise<T> {
  const end = metrics.registryLatency.startTimer({ op: name });
  try {
    return await op();
  } finally {
    end();
  }
}
