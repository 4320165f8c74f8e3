import type { ServerResponse } from 'node:http';
import { AppError, encodeFrame, randomTag } from '@ovation/shared';
import type { Access } from '../access/access.js';
import type { RealtimeMetrics } from '../metrics.js';
import { Connection, type Cutoff } from './connection.js';
import { HeartbeatWheel } from './heartbeat-wheel.js';
import { TopicTable } from './topic-table.js';

/**
 * Every open connection of the node: by id (for /subscribe), by topic (for fan-out), by heartbeat
 * slot. Tells `onPresenceChange` which topics gained their first or lost their last local viewer.
 */
export class ConnectionHub {
  readonly table = new TopicTable();
  private readonly byId = new Map<string, Connection>();
  /** Connections being drained → what to call once they are gone. */
  private readonly leaving = new Map<Connection, () => void>();
  private readonly wheel: HeartbeatWheel;

  constructor(
    private readonly options: {
      heartbeatMs: number;
      maxBufferedBytes: number;
      /** Starts every connection id (a worker's `<index>-`, so its peers know where it lives). */
      idPrefix?: string;
      metrics: RealtimeMetrics;
      onPresenceChange: (topics: string[]) => Promise<void>;
      /**
       * Called for each topic a connection is about to join, and again before its catch-up is
       * released (fan-out writes what is pending, so the hold sees it).
       */
      beforeJoin: (topic: string) => void;
      /** Resolves when the node's registration of these topics upstream is not in flight. */
      registered: (topics: readonly string[]) => Promise<void>;
      /** How far a topic's events of `epoch` have gone out in order (see fanout/topic-order.ts). */
      releasedThrough: (topic: string, epoch: string) => number;
      /** Catch-up frames for topics a connection joined, read after it joined (catch-up/). */
      catchUp: (
        topics: readonly string[],
        lastEventId: string | undefined,
      ) => Promise<{ frames: readonly Buffer[]; cutoffs: ReadonlyMap<string, Cutoff> }>;
    },
  ) {
    this.wheel = new HeartbeatWheel(options.heartbeatMs, (written) => this.options.metrics.heartbeats.inc(written));
  }

  get size(): number {
    return this.byId.size;
  }

  start(): void {
    this.wheel.start();
  }

  /**
   * A new connection; an observer receives its topics' events without counting as a viewer.
   * `access`: what it may join (access/access.ts); default any topic (tests).
   */
  open(res: ServerResponse, observer = false, access?: Access): Connection {
    const connection = new Connection(
      `${this.options.idPrefix ?? ''}${randomTag(9)}`,
      res,
      this.wheel.nextSlot(),
      this.options.maxBufferedBytes,
      () => this.options.metrics.slowClientDrops.inc(),
      observer,
      access,
    );
    this.byId.set(connection.id, connection);
    this.wheel.add(connection);
    return connection;
  }

  get(connectionId: string): Connection | undefined {
    return this.byId.get(connectionId);
  }

  /**
   * Subscribes a connection and hands each new topic over from its catch-up (snapshot, and replay
   * after `lastEventId` when resuming) to its live stream, with nothing missed or repeated: live
   * frames are held from before the join until the catch-up, read after the join, is written.
   */
  async join(connection: Connection, topics: readonly string[], lastEventId?: string): Promise<void> {
    const fresh = [...new Set(topics)].filter((t) => !connection.hasTopic(t));
    connection.hold();
    try {
      await this.subscribe(connection, fresh);
      const { frames, cutoffs } =
        fresh.length > 0 && connection.isOpen
          ? await this.options.catchUp(fresh, lastEventId)
          : { frames: [], cutoffs: new Map<string, Cutoff>() };
      // Everything the node has let out up to now is in the hold, where the cutoffs apply; a
      // topic whose earlier events are still on their way keeps its cutoff for those (lingering).
      const lingering = new Map<string, Cutoff>();
      for (const [topic, cutoff] of cutoffs) {
        this.options.beforeJoin(topic);
        if (this.options.releasedThrough(topic, cutoff.epoch) < cutoff.pos) lingering.set(topic, cutoff);
      }
      connection.release(frames, cutoffs, lingering);
    } catch (error) {
      // Not half joined: the topics it could not be caught up on go (asked again, they get their
      // catch-up then), and the caller hears "unavailable, retry" rather than an internal error.
      this.unsubscribe(connection, fresh);
      connection.release([], new Map());
      throw new AppError('UNAVAILABLE', 'the dispatcher tier could not set these topics up; retry shortly', {
        cause: error,
      });
    }
  }

  async subscribe(connection: Connection, topics: readonly string[]): Promise<void> {
    for (const topic of topics) if (!connection.hasTopic(topic)) this.options.beforeJoin(topic);
    const changed = this.options.onPresenceChange(this.table.subscribe(connection, topics));
    await Promise.all([changed, this.options.registered(topics)]);
  }

  /**
   * Leaves topics at once: the tier hears of it when it can (the link sends it again until then);
   * events that still come for them meanwhile are dropped here as unrouted.
   */
  unsubscribe(connection: Connection, topics: readonly string[]): void {
    this.options.onPresenceChange(this.table.unsubscribe(connection, topics)).catch(() => {});
  }

  /** Forgets a connection whose stream ended. */
  close(connection: Connection): void {
    connection.markClosed();
    const left = this.leaving.get(connection);
    if (left) {
      this.leaving.delete(connection);
      left();
    }
    if (!this.byId.delete(connection.id)) return;
    this.wheel.remove(connection);
    this.unsubscribe(connection, connection.topics);
  }

  /**
   * Graceful drain: every client is told to reconnect after its own delay, spread over
   * `spreadMs` so the other nodes are not hit by all of them at once, and keeps receiving events
   * (and heartbeats) until that delay has passed; then its stream ends. Resolves when every
   * connection is gone.
   */
  async drain(spreadMs: number): Promise<void> {
    const all = [...this.byId.values()];
    await Promise.all(
      all.map(
        (connection) =>
          new Promise<void>((resolve) => {
            const afterMs = Math.floor(Math.random() * spreadMs);
            connection.write(Buffer.from(encodeFrame('reconnect', JSON.stringify({ afterMs }))));
            const timer = setTimeout(() => {
              connection.end();
              this.close(connection);
            }, afterMs);
            this.leaving.set(connection, () => {
              clearTimeout(timer);
              resolve();
            });
          }),
      ),
    );
    this.wheel.stop();
  }
}
