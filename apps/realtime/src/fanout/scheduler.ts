import { RESERVED_EVENT_TYPES, type TTopicCatchUp, type TTopicState, type TWireEvent } from '@ovation/shared';
import type { TopicTable } from '../connections/topic-table.js';
import type { RealtimeMetrics } from '../metrics.js';
import { encodeTopicBatch } from './encode-batch.js';
import { TopicOrder, type TopicOrderOptions } from './topic-order.js';

/*
 * Batched fan-out.
 *
 *   POST /internal/deliver ─▶ enqueue: events wait per topic
 *                               │ (flush scheduled at once when idle)
 *                               ▼
 *   flush: per topic, pending events encoded once (likes coalesced) ─▶ one write per subscriber
 *
 * Under light load a flush follows each delivery immediately. A flush to many subscribers takes
 * time (a socket write costs ~7-12 µs here, so 10,000 subscribers ≈ 70-120 ms); the next one
 * waits a fraction (FLUSH_GAP_RATIO) of that, and whatever arrives meanwhile joins it. So under
 * heavy load batches grow with the load while writes/s stay at what the core can do, and an
 * event waits at most about one flush plus one gap. Guarded by `npm run bench -- --scenario seed` (BENCHMARKS.md).
 */

interface Pending {
  events: TWireEvent[];
  /** Receipt time (ms) of each event, for the receipt → write histogram. */
  receivedAt: number[];
}

/** Longest wait between flushes, however long the last one took. */
const MAX_GAP_MS = 100;
/** Flushes shorter than this are followed at once: a pause would add latency and save little. */
const MIN_FLUSH_FOR_GAP_MS = 20;

export interface FanoutOptions {
  /**
   * The pause after a flush, as a fraction of how long it took (FLUSH_GAP_RATIO). 0 flushes back
   * to back (lowest latency, the core fully busy under load); 1 caps writing at half the core.
   */
  gapRatio: number;
  /** How long an early event waits for the ones before it (ORDER_WAIT_MS, see topic-order.ts). */
  orderWaitMs: number;
  /** Reads a topic's history after a position, to fill a gap (none: gaps are skipped). */
  repair?: TopicOrderOptions['repair'];
  /** A topic's viewers were sent `resync` (for the log). */
  onResync?: (topic: string, why: string) => void;
  /** Reads topics' log positions, to find a lost tail (none: only gaps a later event reveals). */
  probe?: TopicOrderOptions['probe'];
}

/** Regions named in metric labels; events of any further one are labelled `other` (labels cost memory forever). */
const MAX_REGION_LABELS = 16;

/** Longest wait of a topic's first events for the catch-up that tells where its sequence starts. */
const START_WAIT_MS = 3000;

export class FanoutScheduler {
  private pending = new Map<string, Pending>();
  private timer: NodeJS.Timeout | undefined;
  private immediate: NodeJS.Immediate | undefined;
  private nextAllowedAt = 0;

  private readonly order: TopicOrder;
  private readonly regionLabels = new Set<string>();

  constructor(
    private readonly table: TopicTable,
    private readonly metrics: RealtimeMetrics,
    private readonly options: FanoutOptions = { gapRatio: 0.25, orderWaitMs: 250 },
  ) {
    this.order = new TopicOrder({
      gapWaitMs: options.orderWaitMs,
      startWaitMs: START_WAIT_MS,
      release: (events) => this.add(events),
      repair: options.repair ?? (async () => undefined),
      ...(options.probe ? { probe: options.probe } : {}),
      onGap: (outcome, topic, why) => {
        metrics.orderGaps.inc({ outcome });
        if (outcome === 'resync') options.onResync?.(topic, why ?? '');
      },
      onLate: () => metrics.lateEventsDropped.inc(),
    });
  }

  /**
   * Takes a batch from a dispatcher; events of topics without a local viewer are counted and
   * dropped, the others go out in their topic's log order (topic-order.ts).
   */
  enqueue(events: readonly TWireEvent[]): void {
    const now = Date.now();
    this.metrics.eventsReceived.inc(events.length);
    const ready: TWireEvent[] = [];
    for (const event of events) {
      this.metrics.publishToReceipt.observe(
        { region: this.regionLabel(event.region) },
        Math.max(0, now - event.ts) / 1000,
      );
      if (!this.table.has(event.topic)) {
        this.metrics.eventsUnrouted.inc();
        this.order.forget(event.topic);
        continue;
      }
      // A type the server keeps for its own frames is never a published event (the dispatcher refuses them).
      if (RESERVED_EVENT_TYPES.has(event.type)) continue;
      this.order.push(event, ready, now);
    }
    this.add(ready);
  }

  /** A topic's log as a joining viewer's catch-up read it (see TopicOrder.seed). */
  seedOrder(
    topic: string,
    read: Pick<TTopicCatchUp, 'epoch' | 'pos' | 'likes' | 'reactions' | 'status' | 'region' | 'viewers'>,
  ): void {
    // A topic whose viewers left meanwhile has nothing to order (and nothing would clear it).
    if (this.table.has(topic)) this.order.seed(topic, read);
  }

  /** What the node knows of a topic's log (like total, status): see TopicOrder.state. */
  topicState(topic: string): TTopicState | undefined {
    return this.order.state(topic);
  }

  /** No catch-up could be read for these topics (see TopicOrder.settle). */
  settleOrder(topics: readonly string[]): void {
    for (const topic of topics) this.order.settle(topic);
  }

  /** See TopicOrder.releasedThrough. */
  releasedThrough(topic: string, epoch: string): number {
    return this.order.releasedThrough(topic, epoch);
  }

  /** Every topic is checked for events it may have missed (after the node was away from the tier). */
  probeAll(): void {
    this.order.probeAll();
  }

  close(): void {
    this.order.close();
  }

  private regionLabel(region: string): string {
    if (this.regionLabels.has(region)) return region;
    if (this.regionLabels.size >= MAX_REGION_LABELS) return 'other';
    this.regionLabels.add(region);
    return region;
  }

  /** A topic has no local viewer any more. */
  forgetTopic(topic: string): void {
    this.order.forget(topic);
  }

  private add(events: readonly TWireEvent[]): void {
    if (events.length === 0) return;
    const now = Date.now();
    for (const event of events) {
      if (!this.table.has(event.topic)) {
        this.metrics.eventsUnrouted.inc();
        continue;
      }
      let pending = this.pending.get(event.topic);
      if (!pending) {
        pending = { events: [], receivedAt: [] };
        this.pending.set(event.topic, pending);
      }
      pending.events.push(event);
      pending.receivedAt.push(now);
    }
    this.schedule();
  }

  /**
   * Writes a topic's pending events now. Called before a connection joins the topic, so a new
   * subscriber never receives (or counts likes of) events that arrived before it subscribed.
   */
  flushTopic(topic: string): void {
    const pending = this.pending.get(topic);
    if (!pending) return;
    this.pending.delete(topic);
    this.write(topic, pending);
  }

  /** Writes everything pending (used on shutdown). */
  flushAll(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    if (this.immediate) clearImmediate(this.immediate);
    this.immediate = undefined;
    this.flush();
  }

  private schedule(): void {
    if (this.timer || this.immediate || this.pending.size === 0) return;
    const wait = this.nextAllowedAt - performance.now();
    if (wait <= 0) {
      this.immediate = setImmediate(() => {
        this.immediate = undefined;
        this.flush();
      });
    } else {
      this.timer = setTimeout(() => {
        this.timer = undefined;
        this.flush();
      }, wait);
    }
  }

  private flush(): void {
    const started = performance.now();
    const batch = this.pending;
    this.pending = new Map();
    for (const [topic, pending] of batch) this.write(topic, pending);
    const took = performance.now() - started;
    this.metrics.fanoutSeconds.observe(took / 1000);
    const gap = took < MIN_FLUSH_FOR_GAP_MS ? 0 : Math.min(took * this.options.gapRatio, MAX_GAP_MS);
    this.nextAllowedAt = performance.now() + gap;
    this.schedule();
  }

  private write(topic: string, pending: Pending): void {
    const subscribers = this.table.subscribers(topic);
    if (!subscribers || subscribers.size === 0) {
      this.metrics.eventsUnrouted.inc(pending.events.length);
      return;
    }
    const { text, frames, likes } = encodeTopicBatch(pending.events);
    const chunk = Buffer.from(text);
    let written = 0;
    for (const connection of subscribers) if (connection.deliver(chunk, topic, pending.events)) written++;

    const m = this.metrics;
    m.flushEvents.observe(pending.events.length);
    m.socketWrites.inc(written);
    m.eventsDelivered.inc(frames * written);
    m.likesDelivered.inc(likes * written);
    m.bytesOut.inc(chunk.length * written);
    const now = Date.now();
    pending.events.forEach((event, i) => {
      m.receiptToWrite.observe(
        { region: this.regionLabel(event.region) },
        (now - (pending.receivedAt[i] ?? now)) / 1000,
      );
    });
  }
}
