import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';

/** The realtime node's Prometheus metrics, one registry per app instance. */
export function createRealtimeMetrics(read: {
  connections: () => number;
  subscriptions: () => number;
  topics: () => number;
}) {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  new Gauge({
    name: 'realtime_connections',
    help: 'Open SSE connections.',
    registers: [registry],
    collect() {
      this.set(read.connections());
    },
  });
  new Gauge({
    name: 'realtime_subscriptions',
    help: 'Connection-topic subscriptions.',
    registers: [registry],
    collect() {
      this.set(read.subscriptions());
    },
  });
  new Gauge({
    name: 'realtime_topics',
    help: 'Topics with at least one local viewer.',
    registers: [registry],
    collect() {
      this.set(read.topics());
    },
  });
  return {
    registry,
    eventsReceived: new Counter({
      name: 'realtime_events_received_total',
      help: 'Events received from the dispatcher tier.',
      registers: [registry],
    }),
    eventsUnrouted: new Counter({
      name: 'realtime_events_unrouted_total',
      help: 'Received events for a topic with no local viewer (should stay near 0).',
      registers: [registry],
    }),
    eventsDelivered: new Counter({
      name: 'realtime_events_delivered_total',
      help: 'Event frames written to connections (events x subscribers).',
      registers: [registry],
    }),
    bytesOut: new Counter({
      name: 'realtime_bytes_out_total',
      help: 'Bytes of event and heartbeat frames written to connections.',
      registers: [registry],
    }),
    heartbeats: new Counter({
      name: 'realtime_heartbeats_total',
      help: 'Heartbeat frames written.',
      registers: [registry],
    }),
    slowClientDrops: new Counter({
      name: 'realtime_slow_client_drops_total',
      help: 'Connections closed because their outgoing buffer passed the bound.',
      registers: [registry],
    }),
    fanoutSeconds: new Histogram({
      name: 'realtime_fanout_seconds',
      help: 'Time to encode a delivered batch and write it to every local subscriber.',
      buckets: [0.0001, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5],
      registers: [registry],
    }),
  };
}

export type RealtimeMetrics = ReturnType<typeof createRealtimeMetrics>;
