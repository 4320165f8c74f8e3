import type { ServerResponse } from 'node:http';
import { encodeFrame, randomTag } from '@ovation/shared';
import type { RealtimeMetrics } from '../metrics.js';
import { Connection } from './connection.js';
import { HeartbeatWheel } from './heartbeat-wheel.js';
import { TopicTable } from './topic-table.js';

/**
 * Every open connection of the node: by id (for /subscribe), by topic (for fan-out), by heartbeat
 * slot. Tells `onPresenceChange` which topics gained their first or lost their last local viewer.
 */
export class ConnectionHub {
  readonly table = new TopicTable();
  private readonly byId = new Map<string, Connection>();
  private readonly wheel: HeartbeatWheel;

  constructor(
    private readonly options: {
      heartbeatMs: number;
      maxBufferedBytes: number;
      metrics: RealtimeMetrics;
      onPresenceChange: (topics: string[]) => Promise<void>;
      /** Called for each topic a connection is about to join (fan-out flushes what is pending). */
      beforeJoin: (topic: string) => void;
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

  open(res: ServerResponse): Connection {
    const connection = new Connection(randomTag(9), res, this.wheel.nextSlot(), this.options.maxBufferedBytes, () =>
      this.options.metrics.slowClientDrops.inc(),
    );
    this.byId.set(connection.id, connection);
    this.wheel.add(connection);
    return connection;
  }

  get(connectionId: string): Connection | undefined {
    return this.byId.get(connectionId);
  }

  subscribe(connection: Connection, topics: readonly string[]): Promise<void> {
    for (const topic of topics) if (!connection.hasTopic(topic)) this.options.beforeJoin(topic);
    return this.options.onPresenceChange(this.table.subscribe(connection, topics));
  }

  unsubscribe(connection: Connection, topics: readonly string[]): Promise<void> {
    return this.options.onPresenceChange(this.table.unsubscribe(connection, topics));
  }

  /** Forgets a connection whose stream ended. */
  close(connection: Connection): void {
    connection.markClosed();
    if (!this.byId.delete(connection.id)) return;
    this.wheel.remove(connection);
    void this.options.onPresenceChange(this.table.unsubscribe(connection, connection.topics));
  }

  /** Tells every client to reconnect (each after its own delay within `spreadMs`) and ends it. */
  drainAll(spreadMs: number): void {
    this.wheel.stop();
    for (const connection of [...this.byId.values()]) {
      const afterMs = Math.floor(Math.random() * spreadMs);
      connection.end(encodeFrame('reconnect', JSON.stringify({ afterMs })));
      this.close(connection);
    }
  }
}
