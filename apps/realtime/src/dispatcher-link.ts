import {
  MAX_TOPICS_PER_NODE_MESSAGE,
  NodeAckSchema,
  randomTag,
  type TNodeAck,
  type TNodeHeartbeat,
  type TNodeSync,
  type TNodeTopics,
  type TTopicState,
} from '@ovation/shared';
import { Backoff } from '@ovation/shared/server';
import type { FastifyBaseLogger } from 'fastify';
import type { TopicTable } from './connections/topic-table.js';
import type { DispatcherClient } from './dispatcher-client.js';
import type { LatencyCollector } from './latency/collector.js';

/*
 * The node's registration with the dispatcher tier, over one serialized channel:
 *
 *   first viewer of a topic / last one left ──▶ POST /internal/nodes/topics    {add, remove}
 *   every NODE_HEARTBEAT_MS                  ──▶ POST /internal/nodes/heartbeat {counts that changed, topics}
 *   the ack says the tier lacks our state    ──▶ POST /internal/nodes/sync      every topic, in parts
 *
 * Calls go one at a time, so the dispatcher sees this node's changes in order, and every message
 * carries at most MAX_TOPICS_PER_NODE_MESSAGE topics: a node holding 100,000 topics sends more
 * messages, never a bigger one. A change that fails stays pending and is sent again (with a
 * backoff) until the tier takes it; nothing is assumed registered before it is acknowledged. The
 * full sync — asked for when the tier does not know the node (new, expired, a store that lost its
 * data) or holds another number of its topics — also carries each topic's state as the node saw it
 * (like total, status), which a store that lost its data takes back.
 */

/** How long a joining viewer waits for its topics' registration before it is sent elsewhere. */
const REGISTER_TIMEOUT_MS = 5000;
/** Pending work is tried again 100 ms after a failure, doubled up to 2 s. */
const RETRY_BACKOFF = { baseMs: 100, maxMs: 2000, jitter: 'none' } as const;

interface Waiter {
  topics: readonly string[];
  resolve: () => void;
}

export class DispatcherLink {
  /** Topics whose presence (first viewer came / last one left) the tier has not taken yet. */
  private readonly dirty = new Set<string>();
  /** Topics with a registration pending → when it is done. */
  private readonly syncing = new Map<string, Promise<void>>();
  private waiters: Waiter[] = [];
  private heartbeatDue = false;
  private syncDue = false;
  private pumping: Promise<void> | undefined;
  private stopped = false;
  private timer: NodeJS.Timeout | undefined;
  private retryTimer: NodeJS.Timeout | undefined;
  private readonly backoff = new Backoff(RETRY_BACKOFF);
  private lastOkAt = 0;
  private inOutage = false;

  constructor(
    private readonly deps: {
      client: DispatcherClient;
      nodeId: string;
      publicUrl: () => string;
      table: TopicTable;
      collector: LatencyCollector;
      /** What the node knows of a topic's log (like total, status), for a full sync. */
      topicState: (topic: string) => TTopicState | undefined;
      /** A full sync is done: the node was unknown to the tier, and may have missed events meanwhile. */
      onSynced?: () => void;
      heartbeatMs: number;
      log: FastifyBaseLogger;
    },
  ) {}

  start(): void {
    this.heartbeatDue = true;
    this.pump();
    this.timer = setInterval(() => {
      this.heartbeatDue = true;
      this.pump();
    }, this.deps.heartbeatMs);
    this.timer.unref();
  }

  /** Healthy while the last successful call is recent (within three heartbeats). */
  get healthy(): boolean {
    return Date.now() - this.lastOkAt < this.deps.heartbeatMs * 3;
  }

  /**
   * Topics whose local presence changed. Resolves once the tier has taken them; rejects when it
   * could not within REGISTER_TIMEOUT_MS (they stay pending and are sent again until it does).
   */
  sync(topics: readonly string[]): Promise<void> {
    if (topics.length === 0) return Promise.resolve();
    for (const topic of topics) this.dirty.add(topic);
    let waiter: Waiter | undefined;
    const done = new Promise<void>((resolve) => {
      waiter = { topics, resolve };
      this.waiters.push(waiter);
    });
    for (const topic of topics) this.syncing.set(topic, done);
    const settle = () => {
      for (const topic of topics) if (this.syncing.get(topic) === done) this.syncing.delete(topic);
    };
    void done.then(settle);
    this.pump();
    return withTimeout(done, REGISTER_TIMEOUT_MS, 'topic registration with the dispatcher tier timed out', () => {
      // Given up by its caller: nothing waits for it any more (the topics stay dirty, sent again).
      this.waiters = this.waiters.filter((w) => w !== waiter);
      settle();
    });
  }

  /**
   * Resolves once no registration of these topics is pending: a viewer joining a topic whose first
   * viewer is still being registered must not read its catch-up before the registration is done
   * (the events in between would reach neither the catch-up nor this node).
   */
  registered(topics: readonly string[]): Promise<void> {
    const pending = topics.map((t) => this.syncing.get(t)).filter((p) => p !== undefined);
    if (pending.length === 0) return Promise.resolve();
    return withTimeout(
      Promise.all(pending).then(() => {}),
      REGISTER_TIMEOUT_MS,
      'topic registration with the dispatcher tier timed out',
    );
  }

  /**
   * Stops heartbeating, lets pending topic changes go out (a draining node has just emptied its
   * table, so that unregisters all its topics), then closes the connections.
   */
  async stop(): Promise<void> {
    clearInterval(this.timer);
    clearTimeout(this.retryTimer);
    this.heartbeatDue = false;
    this.syncDue = false;
    this.stopped = true;
    this.pump();
    await this.pumping;
  }

  private pump(): void {
    if (this.pumping || this.retryTimer) return;
    this.pumping = (async () => {
      try {
        while (!this.stopped || this.dirty.size > 0) {
          let ok = true;
          if (this.dirty.size > 0) ok = await this.flushTopics();
          else if (this.syncDue && !this.stopped) ok = await this.fullSync();
          else if (this.heartbeatDue && !this.stopped) ok = await this.heartbeat();
          else break;
          if (!ok) {
            this.scheduleRetry();
            return;
          }
          this.backoff.reset();
        }
      } finally {
        this.pumping = undefined;
      }
    })();
  }

  /** After a failure: the pending work is tried again after a backoff (or at the next heartbeat). */
  private scheduleRetry(): void {
    if (this.stopped) return;
    const delay = this.backoff.next();
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      this.pump();
    }, delay);
    this.retryTimer.unref();
  }

  private async flushTopics(): Promise<boolean> {
    const topics = [...this.dirty].slice(0, MAX_TOPICS_PER_NODE_MESSAGE);
    for (const topic of topics) this.dirty.delete(topic);
    // Decide from the table as it is now, so a join-then-leave before the flush nets out.
    const add = topics.filter((t) => this.deps.table.has(t));
    const remove = topics.filter((t) => !this.deps.table.has(t));
    const body: TNodeTopics = { ...this.identity(), add, remove };
    if (!(await this.post('/internal/nodes/topics', body))) {
      for (const topic of topics) this.dirty.add(topic);
      return false;
    }
    // Viewers waiting for these topics (and for nothing still pending) can go on.
    const waiters = this.waiters;
    this.waiters = [];
    for (const waiter of waiters) {
      if (waiter.topics.some((t) => this.dirty.has(t))) this.waiters.push(waiter);
      else waiter.resolve();
    }
    return true;
  }

  private async heartbeat(): Promise<boolean> {
    const { table, collector } = this.deps;
    // Counts that changed go in parts; the liveness part is the first one.
    const counts = table.takeChangedCounts(MAX_TOPICS_PER_NODE_MESSAGE);
    const latency = collector.drain(MAX_TOPICS_PER_NODE_MESSAGE);
    const body: TNodeHeartbeat = {
      ...this.identity(),
      counts,
      topics: table.topicCount,
      ...(latency ? { latency } : {}),
    };
    const ack = await this.post('/internal/nodes/heartbeat', body);
    if (!ack) {
      table.markChanged(Object.keys(counts));
      if (latency) collector.restore(latency);
      return false;
    }
    if (!table.hasChangedCounts) this.heartbeatDue = false;
    if (ack.resync) this.syncDue = true;
    return true;
  }

  /**
   * Every topic the node holds, in parts, then an empty last part that makes the registry exactly
   * what the parts named. Topics that arrived meanwhile are named by more parts before the last.
   */
  private async fullSync(): Promise<boolean> {
    const { table, topicState } = this.deps;
    const syncId = randomTag(8);
    const named = new Set<string>();
    let list = table.topicList();
    for (let round = 0; list.length > 0 && round < 10; round++) {
      for (let i = 0; i < list.length; i += MAX_TOPICS_PER_NODE_MESSAGE) {
        const counts: Record<string, number> = {};
        const state: Record<string, TTopicState> = {};
        for (const topic of list.slice(i, i + MAX_TOPICS_PER_NODE_MESSAGE)) {
          const count = table.countOf(topic);
          if (count === undefined) continue;
          named.add(topic);
          counts[topic] = count;
          const known = topicState(topic);
          if (known) state[topic] = known;
        }
        const part: TNodeSync = { ...this.identity(), syncId, last: false, counts, state };
        if (!(await this.post('/internal/nodes/sync', part))) return false;
      }
      list = table.topicList().filter((t) => !named.has(t));
    }
    const last: TNodeSync = { ...this.identity(), syncId, last: true, counts: {} };
    if (!(await this.post('/internal/nodes/sync', last))) return false;
    this.syncDue = false;
    this.deps.log.info({ topics: named.size }, 'full state synced with the dispatcher tier');
    this.deps.onSynced?.();
    return true;
  }

  private identity() {
    return { nodeId: this.deps.nodeId, url: this.deps.publicUrl() };
  }

  /** One call; the ack, or undefined when it failed (logged once per outage). */
  private async post(path: string, body: unknown): Promise<TNodeAck | undefined> {
    try {
      const ack = await this.deps.client.post(path, body, NodeAckSchema);
      this.lastOkAt = Date.now();
      if (this.inOutage) this.deps.log.info('dispatcher tier reachable again');
      this.inOutage = false;
      return ack;
    } catch (error) {
      if (!this.inOutage) {
        this.deps.log.warn({ err: (error as Error).message, path }, 'dispatcher tier unreachable; retrying');
      }
      this.inOutage = true;
      return undefined;
    }
  }
}

function withTimeout(promise: Promise<void>, ms: number, message: string, onTimeout?: () => void): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      onTimeout?.();
      reject(new Error(message));
    }, ms);
    timer.unref();
    promise.then(
      () => {
        clearTimeout(timer);
        resolve();
      },
      (error: unknown) => {
        clearTimeout(timer);
        reject(error);
      },
    );
  });
}
