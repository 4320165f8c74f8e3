import { encodeFrame } from '@ovation/shared';
import type { Connection } from './connection.js';

const SLOTS = 16;

/**
 * Heartbeats spread over time: connections are dealt into SLOTS slots and each tick (every
 * HEARTBEAT_MS / SLOTS) writes one shared pre-encoded frame to one slot. With 100K connections a
 * tick touches ~6K sockets instead of all of them at once, so delivery never stalls behind a
 * heartbeat storm. Every connection still gets a heartbeat at least every HEARTBEAT_MS.
 */
export class HeartbeatWheel {
  private readonly slots: Set<Connection>[] = Array.from({ length: SLOTS }, () => new Set());
  private next = 0;
  private cursor = 0;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly heartbeatMs: number,
    private readonly onBeat: (written: number) => void,
  ) {}

  /** The slot a new connection joins (round-robin keeps slots even). */
  nextSlot(): number {
    const slot = this.next;
    this.next = (this.next + 1) % SLOTS;
    return slot;
  }

  add(connection: Connection): void {
    this.slots[connection.slot]?.add(connection);
  }

  remove(connection: Connection): void {
    this.slots[connection.slot]?.delete(connection);
  }

  start(): void {
    this.timer = setInterval(() => this.tick(), Math.max(1, Math.floor(this.heartbeatMs / SLOTS)));
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  private tick(): void {
    const slot = this.slots[this.cursor];
    this.cursor = (this.cursor + 1) % SLOTS;
    if (!slot || slot.size === 0) return;
    const frame = Buffer.from(encodeFrame('heartbeat', JSON.stringify({ ts: Date.now() })));
    let written = 0;
    for (const connection of slot) if (connection.write(frame)) written++;
    this.onBeat(written);
  }
}
