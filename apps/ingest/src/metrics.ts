import { processFaults } from '@ovation/shared/server';
import { Counter, collectDefaultMetrics, Gauge, Registry } from 'prom-client';

/** Why a publish was refused; `key` is the web saying no (a wrong or rotated key). */
export type RefusalReason = 'key' | 'web_error' | 'busy' | 'full' | 'closing';

/** The ingest's Prometheus metrics, one registry per app instance (tests build several). */
export function createIngestMetrics(activePublishers: () => number) {
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
    name: 'ingest_active_publishers',
    help: 'Publishes accepted and not ended (each has its ffmpeg).',
    registers: [registry],
    collect() {
      this.set(activePublishers());
    },
  });
  return {
    registry,
    accepted: new Counter({
      name: 'ingest_publishes_accepted_total',
      help: 'RTMP publishes accepted (the web authorized the key; an ffmpeg was started).',
      registers: [registry],
    }),
    refused: new Counter({
      name: 'ingest_publishes_refused_total',
      help: 'RTMP publishes refused, by reason: key (the web refused it), web_error (no usable answer), busy (the video is already publishing), full (MAX_PUBLISHERS), closing.',
      labelNames: ['reason'],
      registers: [registry],
    }),
    connectionsRefused: new Counter({
      name: 'ingest_rtmp_connections_refused_total',
      help: 'RTMP connections cut at once: MAX_CONNECTIONS_PER_ADDRESS connections of that address were not publishing yet.',
      registers: [registry],
    }),
    bytesIn: new Counter({
      name: 'ingest_bytes_in_total',
      help: 'Bytes of audio and video received from accepted publishes.',
      registers: [registry],
    }),
  };
}

export type IngestMetrics = ReturnType<typeof createIngestMetrics>;
