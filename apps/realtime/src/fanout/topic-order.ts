import { parsePositionId, type TWireEvent } from '@ovation/shared';

/**
 * Puts each topic's events back in log order before fan-out, and fills gaps from history.
 *
 * Every event of a topic has a position (see @ovation/shared ids.ts), one after another. Events
 * come from several dispatchers, each over its own connection, so event 21 can arrive before event
 * 20. A viewer must see them in order — its last id is its resume point, and resuming from 21
 * would skip 20 — so an event that comes early waits for the ones before it. If they have not come
 * after `gapWaitMs` (a dispatcher died between accepting and delivering them), the history events
 * of the gap are fetched from the dispatcher tier (`repair`) and the sequence continues after it;
 * likes and viewer counts of a gap are not in history and are skipped.
 *
 * Where a topic's sequence starts is known from the catch-up read made when a viewer joins
 * (`seed`); events that arrive before that wait for it (or for `settle` if it cannot be read).
 * A new epoch (the log was lost) starts at position 1.
 * An event behind the sequence — covered by a catch-up, or repaired from history — is dropped:
 * the viewers already have it. Events without a position id pass as they come.
 */
interface TopicState {
  epoch: string;
  /** Next position expected; undefined until the start is known. */
  next: number | undefined;
  /** Early events, sorted by position. */
  waiting: Array<{ pos: number; event: TWireEvent }>;
  timer: NodeJS.Timeout | undefined;
  repairing: boolean;
}

export interface TopicOrderOptions {
  /** How long an early event waits for the ones before it before the gap is repaired. */
  gapWaitMs: number;
  /** How long events wait for the sequence start (a catch-up) at most. */
  startWaitMs: number;
  /** Receives events released later (by `seed`, `settle`, a repair or a timer), in order. */
  release: (events: TWireEvent[]) => void;
  /** History events of `topic` after `afterPos` and the position they were read at. */
  repair: (
    topic: string,
    epoch: string,
    afterPos: number,
  ) => Promise<{ events: TWireEvent[]; pos: number } | undefined>;
  onGap: (outcome: 'repaired' | 'skipped') => void;
  onLate: () => void;
}

export class TopicOrder {
  private readonly topics = new Map<string, TopicState>();

  constructor(private readonly o: TopicOrderOptions) {}

  /** Takes one event; appends to `out` those that can go out now, in order. */
  push(event: TWireEvent, out: TWireEvent[]): void {
    const position = parsePositionId(event.id);
    if (!position) {
      out.push(event);
      return;
    }
    let state = this.topics.get(event.topic);
    if (!state || state.epoch !== position.epoch) {
      if (state) clearTimeout(state.timer);
      // A new epoch of a topic this node already follows (the log was lost and restarted)
      // starts at position 1; a topic new to this node starts where its first catch-up says.
      const next = state ? 1 : undefined;
      state = { epoch: position.epoch, next, waiting: [], timer: undefined, repairing: false };
      this.topics.set(event.topic, state);
    }
    if (state.next !== undefined && position.pos < state.next) {
      this.o.onLate();
      return;
    }
    if (position.pos === state.next) {
      out.push(event);
      state.next++;
      this.drainConsecutive(state, out);
      return;
    }
    insertSorted(state.waiting, { pos: position.pos, event });
    this.arm(event.topic, state);
  }

  /** The topic's log stood at `pos` (of `epoch`) when read for a joining viewer. */
  seed(topic: string, epoch: string, pos: number): void {
    const state = this.topics.get(topic);
    if (state && state.epoch === epoch && state.next !== undefined) return;
    const seeded: TopicState = { epoch, next: pos + 1, waiting: [], timer: undefined, repairing: false };
    if (state?.epoch === epoch) {
      clearTimeout(state.timer);
      // Events up to `pos` are in the joining viewers' catch-up; the rest wait their turn.
      for (const entry of state.waiting) if (entry.pos > pos) insertSorted(seeded.waiting, entry);
    }
    this.topics.set(topic, seeded);
    this.releaseReady(topic, seeded);
  }

  /** No catch-up could be read: what waits for the start goes out in order, and starts it. */
  settle(topic: string): void {
    const state = this.topics.get(topic);
    if (!state || state.next !== undefined || state.waiting.length === 0) return;
    state.next = state.waiting[0]?.pos;
    this.releaseReady(topic, state);
  }

  /** The position up to which the topic's events of `epoch` have gone out in order (-1: unknown). */
  releasedThrough(topic: string, epoch: string): number {
    const state = this.topics.get(topic);
    return state?.epoch === epoch && state.next !== undefined ? state.next - 1 : -1;
  }

  /** Forgets a topic (no local viewer left). */
  forget(topic: string): void {
    const state = this.topics.get(topic);
    if (!state) return;
    clearTimeout(state.timer);
    this.topics.delete(topic);
  }

  private releaseReady(topic: string, state: TopicState): void {
    const out: TWireEvent[] = [];
    this.drainConsecutive(state, out);
    if (state.waiting.length > 0) this.arm(topic, state);
    if (out.length > 0) this.o.release(out);
  }

  private drainConsecutive(state: TopicState, out: TWireEvent[]): void {
    while (state.waiting.length > 0 && state.waiting[0]?.pos === state.next) {
      out.push((state.waiting.shift() as { event: TWireEvent }).event);
      state.next = (state.next as number) + 1;
    }
    if (state.waiting.length === 0) {
      clearTimeout(state.timer);
      state.timer = undefined;
    }
  }

  private arm(topic: string, state: TopicState): void {
    if (state.timer || state.repairing) return;
    const waitMs = state.next === undefined ? this.o.startWaitMs : this.o.gapWaitMs;
    state.timer = setTimeout(() => {
      state.timer = undefined;
      if (this.topics.get(topic) !== state || state.waiting.length === 0) return;
      if (state.next === undefined) this.settle(topic);
      else void this.repair(topic, state);
    }, waitMs);
    state.timer.unref();
  }

  private async repair(topic: string, state: TopicState): Promise<void> {
    const from = (state.next as number) - 1;
    state.repairing = true;
    const found = await this.o.repair(topic, state.epoch, from).catch(() => undefined);
    state.repairing = false;
    if (this.topics.get(topic) !== state || state.next === undefined) return;
    // Up to `through`, what is not in history (likes, viewer counts) will not be found: skip it.
    let through = (state.waiting[0]?.pos ?? state.next) - 1;
    if (found) {
      this.o.onGap('repaired');
      for (const event of found.events) {
        const pos = parsePositionId(event.id)?.pos;
        if (pos !== undefined && pos >= state.next && pos <= through) insertSorted(state.waiting, { pos, event });
      }
    } else {
      this.o.onGap('skipped');
      through = Math.max(through, state.next - 1);
    }
    const out: TWireEvent[] = [];
    while (state.waiting.length > 0 && (state.waiting[0]?.pos ?? 0) <= through) {
      out.push((state.waiting.shift() as { event: TWireEvent }).event);
    }
    state.next = Math.max(state.next, through + 1);
    this.drainConsecutive(state, out);
    if (state.waiting.length > 0) this.arm(topic, state);
    if (out.length > 0) this.o.release(out);
  }
}

function insertSorted(list: Array<{ pos: number; event: TWireEvent }>, entry: { pos: number; event: TWireEvent }) {
  let i = list.length;
  while (i > 0 && (list[i - 1]?.pos ?? 0) > entry.pos) i--;
  if (list[i - 1]?.pos === entry.pos) return; // the same event twice: once is enough
  list.splice(i, 0, entry);
}
