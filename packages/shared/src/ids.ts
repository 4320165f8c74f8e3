import { randomBytes } from './random.js';

/**
 * Event ids: `<ms:9 base36><seq:4 base36>-<region>-<process>`.
 *
 * Unique across processes and regions (region + a random per-process tag) and strictly increasing
 * for ids made by one generator, so events of a topic published through one dispatcher sort in
 * publish order. The leading publish time lets history find the neighbourhood of an id quickly.
 */
export class EventIdGenerator {
  private lastMs = 0;
  private seq = 0;
  private readonly suffix: string;

  constructor(region: string, processTag: string = randomTag()) {
    this.suffix = `-${region}-${processTag}`;
  }

  next(now: number = Date.now()): string {
    // A clock that steps back must not reorder ids: stay on the last millisecond and count up.
    if (now > this.lastMs) {
      this.lastMs = now;
      this.seq = 0;
    } else {
      this.seq++;
      if (this.seq >= 36 ** 4) {
        this.lastMs++;
        this.seq = 0;
      }
    }
    return this.lastMs.toString(36).padStart(9, '0') + this.seq.toString(36).padStart(4, '0') + this.suffix;
  }
}

/** Publish time (ms since epoch) encoded at the front of an id, or undefined for a foreign id. */
export function eventIdTime(id: string): number | undefined {
  if (id.length < 13) return undefined;
  const ms = Number.parseInt(id.slice(0, 9), 36);
  return Number.isFinite(ms) ? ms : undefined;
}

/** A short random tag, URL- and topic-safe. */
export function randomTag(bytes = 6): string {
  let out = '';
  for (const byte of randomBytes(bytes)) out += byte.toString(36).padStart(2, '0');
  return out;
}

/*
 * Event ids carry their place in the topic's log:
 *
 *   <ms:9 base36>-<position base36>[.s]-<epoch:8>-<region>
 *
 * The dispatcher tier gives every event of a topic the next position in that topic's log (one
 * counter per topic per region, in Redis or in memory), so any id a viewer last saw — a comment,
 * a like, a viewer count — says exactly where in the topic it stopped, and resume is "every
 * history event after position p". The epoch is a random tag made when the topic's log is
 * created: after Redis restarts empty the positions start over under a new epoch, and an id of the
 * old epoch is recognised as unknown (resync) instead of being compared with the new positions.
 * `.s` marks the id of a snapshot: the position it stands for, not an event.
 */
export interface LogPosition {
  /** Publish time (ms since the epoch). */
  ts: number;
  /** Position in the topic's log, 1 for its first event. */
  pos: number;
  /** The topic log's epoch. */
  epoch: string;
  /** Region whose log gave the position. */
  region: string;
  /** True for a snapshot's id. */
  snapshot: boolean;
}

const POSITION_ID = /^([0-9a-z]{9})-([0-9a-z]{1,11})(\.s)?-([0-9a-z]{8})-([A-Za-z0-9._-]{1,64})$/;

/** Epochs are 8 base36 characters. */
export function newEpoch(): string {
  return randomTag(4);
}

export function positionId(position: Omit<LogPosition, 'snapshot'>, snapshot = false): string {
  return `${positionIdTime(position.ts)}-${position.pos.toString(36)}${snapshot ? '.s' : ''}-${position.epoch}-${position.region}`;
}

/** The time part of position ids; with `positionIdAt`, ids of one publish share it. */
export function positionIdTime(ts: number): string {
  return ts.toString(36).padStart(9, '0');
}

/** `positionId` with the time part made once (see positionIdTime). */
export function positionIdAt(time: string, pos: number, epoch: string, region: string): string {
  return `${time}-${pos.toString(36)}-${epoch}-${region}`;
}

/** The position an id stands for, or undefined when it is not a position id (garbage, foreign). */
export function parsePositionId(id: string): LogPosition | undefined {
  const match = POSITION_ID.exec(id);
  if (!match) return undefined;
  const [, ms, pos, snapshot, epoch, region] = match as unknown as [string, string, string, string, string, string];
  const ts = Number.parseInt(ms, 36);
  const position = Number.parseInt(pos, 36);
  if (!Number.isSafeInteger(ts) || !Number.isSafeInteger(position)) return undefined;
  return { ts, pos: position, epoch, region, snapshot: snapshot !== undefined };
}
