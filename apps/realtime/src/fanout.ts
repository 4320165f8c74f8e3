import { encodeFrame, type TWireEvent } from '@ovation/shared';
import type { ConnectionHub } from './connections/hub.js';
import type { RealtimeMetrics } from './metrics.js';

/**
 * Writes a batch from the dispatcher tier to local subscribers.
 *
 * Cost: per topic in the batch, one JSON.stringify per event and one Buffer for all of the
 * topic's events together; per subscriber, one write of that same Buffer (one syscall, however
 * many events the batch held). Guarded by the fan-out figure in BENCHMARKS.md.
 */
export function deliverBatch(events: readonly TWireEvent[], hub: ConnectionHub, metrics: RealtimeMetrics): void {
  const endTimer = metrics.fanoutSeconds.startTimer();
  metrics.eventsReceived.inc(events.length);

  // Group by topic, keeping each topic's events in arrival (= publish) order.
  const byTopic = new Map<string, TWireEvent[]>();
  for (const event of events) {
    let list = byTopic.get(event.topic);
    if (!list) {
      list = [];
      byTopic.set(event.topic, list);
    }
    list.push(event);
  }

  let delivered = 0;
  let bytes = 0;
  for (const [topic, list] of byTopic) {
    const subscribers = hub.table.subscribers(topic);
    if (!subscribers || subscribers.size === 0) {
      metrics.eventsUnrouted.inc(list.length);
      continue;
    }
    let text = '';
    for (const event of list) {
      const envelope = { id: event.id, topic: event.topic, type: event.type, data: event.data, ts: event.ts };
      text += encodeFrame(event.type, JSON.stringify(envelope), event.id);
    }
    const chunk = Buffer.from(text);
    for (const connection of subscribers) {
      if (connection.write(chunk)) {
        delivered += list.length;
        bytes += chunk.length;
      }
    }
  }
  metrics.eventsDelivered.inc(delivered);
  metrics.bytesOut.inc(bytes);
  endTimer();
}
