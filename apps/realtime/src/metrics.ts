import { processFaults } from '@ovation/shared/server';
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';

/** Seconds; fine below 100 ms where the targets are. */
export const LATENCY_BUCKETS = [
  0.001, 0.0025, 0.005, 0.01, 0.02, 0.035, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.5, 1, 2, 5,
];

/** The realtime node's Prometheus metrics, one registry per app instance. */
export function createRealtimeMetrics(read: {
  connections: () => number;
  subscriptions: () => number;
  topics: () => number;
}) {
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
    name: 'realtime_processes',
    help: "Processes serving viewers: 1 per node; summed over a machine's workers (WORKERS), those listening.",
    registers: [registry],
    collect() {
      this.set(1);
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
      help: 'Event frames written to connections (frames x subscribers; coalesced likes count once).',
      registers: [registry],
    }),
    likesDelivered: new Counter({
      name: 'realtime_likes_delivered_total',
      help: 'Like deliveries: the sum of like counts written, times subscribers.',
      registers: [registry],
    }),
    socketWrites: new Counter({
      name: 'realtime_socket_writes_total',
      help: 'Writes of event batches to connections (one per subscriber per flush of a topic).',
      registers: [registry],
    }),
    flushEvents: new Histogram({
      name: 'realtime_flush_events',
      help: 'Events written per topic per flush (batch size).',
      buckets: [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 5000],
      registers: [registry],
    }),
    publishToReceipt: new Histogram({
      name: 'realtime_publish_to_receipt_seconds',
      help: 'Publish (dispatcher accept) to receipt by this node, per event, by the publishing region.',
      labelNames: ['region'],
      buckets: LATENCY_BUCKETS,
      registers: [registry],
    }),
    receiptToWrite: new Histogram({
      name: 'realtime_receipt_to_write_seconds',
      help: 'Receipt by this node to the write to subscriber sockets, per event, by the publishing region.',
      labelNames: ['region'],
      buckets: LATENCY_BUCKETS,
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
    sentAway: new Counter({
      name: 'realtime_connections_sent_away_total',
      help: 'Connect requests answered with retry + reconnect instead of a stream, by reason (draining, full, unavailable).',
      labelNames: ['reason'],
      registers: [registry],
    }),
    orderGaps: new Counter({
      name: 'realtime_order_gaps_total',
      help: "Gaps in a topic's event positions still open after ORDER_WAIT_MS, by outcome: repaired from history, snapshot (likes or counts missed), resync (lost for good), retry (tier unreadable).",
      labelNames: ['outcome'],
      registers: [registry],
    }),
    lateEventsDropped: new Counter({
      name: 'realtime_late_events_dropped_total',
      help: 'Events that arrived behind their topic sequence (already covered by a catch-up or a repair).',
      registers: [registry],
    }),
    resumes: new Counter({
      name: 'realtime_resumes_total',
      help: 'Connections that arrived with a last event id and were caught up (replay or resync).',
      registers: [registry],
    }),
    catchUpFailures: new Counter({
      name: 'realtime_catch_up_failures_total',
      help: 'Catch-ups (snapshot, replay) the dispatcher tier could not answer.',
      registers: [registry],
    }),
    slowClientDrops: new Counter({
      name: 'realtime_slow_client_drops_total',
      help: 'Connections closed because their outgoing buffer passed the bound.',
      registers: [registry],
    }),
    fanoutSeconds: new Histogram({
      name: 'realtime_fanout_seconds',
      help: 'Duration of one flush: encoding pending events and writing them to every subscriber.',
      buckets: [0.0001, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5],
      registers: [registry],
    }),
  };
}

export type RealtimeMetrics = ReturnType<typeof createRealtimeMetrics>;
