import {
  COUNTED_REACTIONS,
  MAX_RELAYED_ORIGINS,
  parsePositionId,
  positionId,
  reactionTotals,
  type TReactionCounts,
  type TResyncPayload,
  type TSnapshotPayload,
  type TTopicCatchUp,
  type TTopicState,
  type TWireEvent,
} from '@ovation/shared';
import Denque from 'denque';
import { addReactions } from './encode-batch.js';

/**
 * Puts each topic's events back in log order before fan-out, and repairs what never arrives.
 *
 * Every event of a topic has a position (see @ovation/shared ids.ts), one after another. Events
 * come from several dispatchers, each over its own connection, so event 21 can arrive before event
 * 20. A viewer must see them in order — its last id is its resume point, and resuming from 21
 * would skip 20 — so an early event waits for the ones before it. If they have not come after
 * `gapWaitMs` (a dispatcher died between accepting and delivering them, a node was away), the gap
 * is *repaired*: the topic's catch-up after the last position let out is read from the dispatcher
 * tier, and
 *
 *   - the history events of the gap go out in their place;
 *   - if a position is in neither history nor what arrived (a like or a viewer count: they are not
 *     kept in history), a `snapshot` (viewers, like total, status at the read position) follows,
 *     so every viewer's like total is exact again; events up to that position are then covered;
 *   - if the gap cannot be repaired — the log was lost (another epoch), history was trimmed past
 *     it, or the tier could not be read for long — the viewers get `resync` (reload your state):
 *     a viewer's last id never silently jumps over a lost comment. A snapshot follows as soon as
 *     the tier can be read.
 *
 * Where a topic's sequence starts is known from the catch-up read made when a viewer joins
 * (`seed`); events that arrive before that wait for it (or for `settle` if it cannot be read).
 * An event behind the sequence — covered by a catch-up, a repair, or sent twice by a dispatcher
 * that retried — is dropped: the viewers already have it. A gap at the end of a topic has no later
 * event to reveal it, so a topic that went quiet is probed once (`probe`: its log position): if
 * the log is ahead of what arrived, what is missing is repaired the same way. Events without a position id pass as
 * they come. The order also keeps each topic's like total and status as of its last position let
 * out (`state`), which a store that lost its data gets back from the nodes.
 */
interface TopicState {
  epoch: string;
  /** Next position expected; undefined until the start is known. */
  next: number | undefined;
  /** Early events, sorted by position (see insertSorted for why a deque; an empty one holds 4 slots). */
  waiting: Denque<Waiting>;
  /**
   * `waiting` held more than SHRINK_WAITING_ABOVE at some point: a deque keeps its largest array
   * once drained, so it is replaced by a small one when it empties (emptied).
   */
  waitingGrew: boolean;
  timer: NodeJS.Timeout | undefined;
  repairing: boolean;
  /** A snapshot is owed to the viewers (after a resync): repaired (read) until it is sent. */
  owesSnapshot: boolean;
  /** Positions up to this one exist (a read said so): if they do not arrive, they are repaired. */
  knownThrough: number;
  /** Repair attempts that failed in a row, and since when. */
  failures: number;
  failingSince: number;
  /** Like total, status and viewer count as of position next - 1 (undefined: not known). */
  likes: number | undefined;
  /** `likes` per reaction (meaningful while `likes` is known). */
  reactions: TReactionCounts;
  status: string | undefined;
  viewers: number | undefined;
  /** Relayed events let out: per origin log (`<epoch>-<region>`), the highest origin position. */
  relayed: Map<string, number>;
  /** The epoch before a log loss, and the next position expected in it (its late events still go out). */
  previous: { epoch: string; next: number } | undefined;
}

interface Waiting {
  pos: number;
  event: TWireEvent;
}

export type GapOutcome = 'repaired' | 'snapshot' | 'resync' | 'retry';

export interface TopicOrderOptions {
  /** How long an early event waits for the ones before it before the gap is repaired. */
  gapWaitMs: number;
  /** How long events wait for the sequence start (a catch-up) at most. */
  startWaitMs: number;
  /** Receives events released later (by `seed`, `settle`, a repair or a timer), in order. */
  release: (events: TWireEvent[]) => void;
  /** The topic's catch-up with its history events after `afterPos` (throws when it cannot be read). */
  repair: (topic: string, afterPos: number, epoch: string) => Promise<TTopicCatchUp | undefined>;
  /** The state of each topic's log (position, epoch), no history (throws when it cannot be read). */
  probe?: (topics: readonly string[]) => Promise<ReadonlyMap<string, TTopicCatchUp>>;
  /** A gap's outcome; for `resync`, why (logged: a viewer told to reload is worth a line). */
  onGap: (outcome: GapOutcome, topic: string, why?: string) => void;
  onLate: () => void;
  now?: () => number;
}

/** A topic is probed for a lost tail once it had no event for this long. */
const QUIET_MS = 1000;
const PROBE_EVERY_MS = 500;
/**
 * Topics probed at once: after a store loss every topic's log is new, each probe answer is a
 * resync and a snapshot read, and 100,000 of them in one go would hold the node (and its
 * heartbeat) for seconds. The rest wait for the next rounds.
 */
const MAX_PROBED = 5000;
/** A gap the tier cannot repair for this long is given up (resync); the snapshot is still owed. */
const MAX_REPAIR_MS = 30_000;
/** Early events one topic may hold while its gap is repaired; beyond, the gap is given up. */
const MAX_WAITING = 10_000;
/** A topic's drained `waiting` that held more than this is replaced by a small one (emptied). */
const SHRINK_WAITING_ABOVE = 1024;
/** …and all topics together (checked every CHECK_EVERY pushes): the biggest gaps are given up first. */
const MAX_WAITING_TOTAL = 200_000;
const CHECK_EVERY = 256;
const RETRY_BASE_MS = 100;
const RETRY_MAX_MS = 5000;

export class TopicOrder {
  private readonly topics = new Map<string, TopicState>();
  /** Topics that had an event (or need a probe) since their last probe → when it arrived. */
  private readonly active = new Map<string, number>();
  private readonly probeTimer: NodeJS.Timeout | undefined;
  private probing = false;
  /** Topics that held early events when last seen (for the node-wide bound), and pushes since the check. */
  private readonly gapped = new Map<string, TopicState>();
  private pushes = 0;

  constructor(private readonly o: TopicOrderOptions) {
    if (o.probe) {
      this.probeTimer = setInterval(() => void this.probeQuiet(), PROBE_EVERY_MS);
      this.probeTimer.unref();
    }
  }

  /** Stops probing (the node shuts down). */
  close(): void {
    clearInterval(this.probeTimer);
    for (const state of this.topics.values()) clearTimeout(state.timer);
  }

  /** Every topic gets probed (the node was away from the dispatcher tier: it may have missed a tail). */
  probeAll(): void {
    for (const topic of this.topics.keys()) this.active.set(topic, 0);
  }

  private get now(): number {
    return (this.o.now ?? Date.now)();
  }

  /** Takes one event (arrived at `now`); appends to `out` those that can go out now, in order. */
  push(event: TWireEvent, out: TWireEvent[], now = Date.now()): void {
    const position = parsePositionId(event.id);
    if (!position) {
      out.push(event);
      return;
    }
    if (this.o.probe) this.active.set(event.topic, now);
    let state = this.topics.get(event.topic);
    if (state?.previous?.epoch === position.epoch && state.epoch !== position.epoch) {
      // Accepted before the log was lost and delayed (a retried delivery): it still goes out once.
      if (position.pos < state.previous.next) {
        this.o.onLate();
        return;
      }
      state.previous.next = position.pos + 1;
      this.apply(state, event);
      out.push(event);
      return;
    }
    if (!state) {
      // A topic new to this node starts where its first catch-up says.
      state = this.fresh(position.epoch, undefined);
      this.topics.set(event.topic, state);
    } else if (state.epoch !== position.epoch) {
      state = this.switchEpoch(event.topic, state, position.epoch, event.region, out);
    }
    if (state.next !== undefined && position.pos < state.next) {
      this.o.onLate();
      return;
    }
    if (position.pos === state.next && !state.repairing) {
      this.take(state, event, out);
      this.drainConsecutive(state, out);
      return;
    }
    if (state.waiting.length >= MAX_WAITING) {
      this.giveUp(event.topic, state, out);
      if (position.pos >= (state.next ?? 0)) insertSorted(state.waiting, { pos: position.pos, event });
      this.drainConsecutive(state, out);
      return;
    }
    insertSorted(state.waiting, { pos: position.pos, event });
    if (state.waiting.length > SHRINK_WAITING_ABOVE) state.waitingGrew = true;
    this.gapped.set(event.topic, state);
    if (++this.pushes % CHECK_EVERY === 0) this.bound(out);
    this.arm(event.topic, state);
  }

  /** Keeps what all topics hold below MAX_WAITING_TOTAL: the biggest gaps are given up first. */
  private bound(out: TWireEvent[]): void {
    let total = 0;
    for (const [topic, state] of this.gapped) {
      if (state.waiting.length === 0 || this.topics.get(topic) !== state) this.gapped.delete(topic);
      else total += state.waiting.length;
    }
    if (total <= MAX_WAITING_TOTAL) return;
    const biggest = [...this.gapped].sort(([, a], [, b]) => b.waiting.length - a.waiting.length);
    for (const [topic, state] of biggest) {
      if (total <= MAX_WAITING_TOTAL) break;
      total -= state.waiting.length;
      // `out` takes events of any topic (the scheduler groups them).
      this.giveUp(topic, state, out);
      this.gapped.delete(topic);
    }
  }

  /** The topic's log stood at `read.pos` (of `read.epoch`) when read for a joining viewer. */
  seed(
    topic: string,
    read: Pick<TTopicCatchUp, 'epoch' | 'pos' | 'likes' | 'reactions' | 'status' | 'region' | 'viewers'>,
  ): void {
    const state = this.topics.get(topic);
    if (state && state.epoch === read.epoch && state.next !== undefined) return;
    if (state?.next !== undefined && state.previous?.epoch !== read.epoch) {
      // This node follows another epoch, and the log was lost since: its viewers get the new
      // epoch from its start (the joining viewer's catch-up covers up to `pos` for it alone).
      const out: TWireEvent[] = [];
      const switched = this.switchEpoch(topic, state, read.epoch, read.region, out);
      switched.knownThrough = read.pos;
      this.arm(topic, switched);
      if (out.length > 0) this.o.release(out);
      return;
    }
    if (state?.previous?.epoch === read.epoch) return; // a read of the log before the loss: too late
    const seeded = this.fresh(read.epoch, read.pos + 1);
    seeded.likes = read.likes;
    seeded.reactions = { ...reactionsOf(read) };
    seeded.status = read.status;
    seeded.viewers = read.viewers;
    seeded.knownThrough = read.pos;
    if (state?.epoch === read.epoch) {
      clearTimeout(state.timer);
      // Events up to `pos` are in the joining viewers' catch-up; the rest wait their turn.
      for (const entry of state.waiting.toArray()) if (entry.pos > read.pos) insertSorted(seeded.waiting, entry);
    }
    this.topics.set(topic, seeded);
    this.releaseReady(topic, seeded);
  }

  /** No catch-up could be read: what waits for the start goes out in order, and starts it. */
  settle(topic: string): void {
    const state = this.topics.get(topic);
    if (!state || state.next !== undefined || state.waiting.length === 0) return;
    state.next = state.waiting.peekFront()?.pos;
    this.releaseReady(topic, state);
  }

  /** The position up to which the topic's events of `epoch` have gone out in order (-1: unknown). */
  releasedThrough(topic: string, epoch: string): number {
    const state = this.topics.get(topic);
    return state?.epoch === epoch && state.next !== undefined ? state.next - 1 : -1;
  }

  /** The topic's like total, status and viewer count as of its last position let out, when known. */
  state(topic: string): TTopicState | undefined {
    const state = this.topics.get(topic);
    if (!state || (state.likes === undefined && state.relayed.size === 0)) return undefined;
    return {
      likes: state.likes ?? 0,
      ...(state.likes === undefined ? {} : { reactions: { ...state.reactions } }),
      ...(state.status === undefined ? {} : { status: state.status }),
      ...(state.viewers === undefined ? {} : { viewers: state.viewers }),
      ...(state.relayed.size === 0 ? {} : { relayed: Object.fromEntries(state.relayed) }),
    };
  }

  /** Forgets a topic (no local viewer left). */
  forget(topic: string): void {
    this.active.delete(topic);
    this.gapped.delete(topic);
    const state = this.topics.get(topic);
    if (!state) return;
    clearTimeout(state.timer);
    this.topics.delete(topic);
  }

  /** Probes the topics that went quiet: a log ahead of what arrived has a lost tail, repaired. */
  private async probeQuiet(): Promise<void> {
    if (this.probing || !this.o.probe) return;
    const now = this.now;
    const due: string[] = [];
    for (const [topic, at] of this.active) {
      if (due.length >= MAX_PROBED) break;
      if (now - at < QUIET_MS) continue;
      this.active.delete(topic);
      if (this.topics.get(topic)?.next !== undefined) due.push(topic);
    }
    if (due.length === 0) return;
    this.probing = true;
    let reads: ReadonlyMap<string, TTopicCatchUp> | undefined;
    try {
      reads = await this.o.probe(due);
    } catch {
      for (const topic of due) this.active.set(topic, 0); // the tier is unreachable: next time
    } finally {
      this.probing = false;
    }
    const out: TWireEvent[] = [];
    for (const topic of due) {
      const read = reads?.get(topic);
      const state = this.topics.get(topic);
      if (!read || !state || state.next === undefined || state.repairing) continue;
      if (read.epoch !== state.epoch) {
        if (state.previous?.epoch !== read.epoch) this.lostLog(topic, state, read, out);
      } else if (read.pos >= state.next) {
        state.knownThrough = Math.max(state.knownThrough, read.pos);
        clearTimeout(state.timer);
        state.timer = undefined;
        this.arm(topic, state, 0);
      }
    }
    if (out.length > 0) this.o.release(out);
  }

  /**
   * The topic's log was lost and restarted under `epoch`: the new epoch is followed from position
   * 1, the old one's late events still go out once. Whether the old log had events this node never
   * got (in the queue of a dispatcher that died with the store) cannot be known: the viewers of an
   * established sequence get `resync` — before what waited for a gap of the old log, which cannot
   * be repaired any more — and a snapshot of the new log follows.
   */
  private switchEpoch(topic: string, state: TopicState, epoch: string, region: string, out: TWireEvent[]): TopicState {
    clearTimeout(state.timer);
    const established = state.next !== undefined;
    const fresh = this.fresh(epoch, established ? 1 : undefined);
    fresh.likes = state.likes;
    fresh.reactions = state.reactions;
    fresh.status = state.status;
    fresh.viewers = state.viewers;
    fresh.relayed = state.relayed;
    if (established) {
      fresh.previous = { epoch: state.epoch, next: state.next as number };
      // First the resync (what waited sits after a gap that will never be filled), then what waited.
      out.push(this.resyncEvent(topic, region));
      this.o.onGap('resync', topic, `the log moved to epoch ${epoch} (was ${state.epoch})`);
      fresh.owesSnapshot = true;
    }
    const last = state.waiting.peekBack();
    for (let entry = state.waiting.shift(); entry; entry = state.waiting.shift()) {
      this.apply(fresh, entry.event);
      out.push(entry.event);
    }
    if (fresh.previous && last) fresh.previous.next = last.pos + 1;
    this.topics.set(topic, fresh);
    if (fresh.owesSnapshot) this.arm(topic, fresh, 0);
    return fresh;
  }

  private fresh(epoch: string, next: number | undefined): TopicState {
    return {
      epoch,
      next,
      waiting: new Denque<Waiting>(),
      waitingGrew: false,
      timer: undefined,
      repairing: false,
      owesSnapshot: false,
      knownThrough: 0,
      failures: 0,
      failingSince: 0,
      likes: undefined,
      reactions: {},
      status: undefined,
      viewers: undefined,
      relayed: new Map(),
      previous: undefined,
    };
  }

  /** One event goes out in order: the sequence and the topic's state move past it. */
  private take(state: TopicState, event: TWireEvent, out: TWireEvent[]): void {
    out.push(event);
    state.next = (parsePositionId(event.id)?.pos ?? (state.next as number)) + 1;
    this.apply(state, event);
  }

  /** Follows the like total (per reaction too) and status the way the topic log keeps them. */
  private apply(state: TopicState, event: TWireEvent): void {
    if (event.originId !== undefined) noteRelayed(state.relayed, event.originId);
    if (event.type === 'like') {
      if (state.likes !== undefined && typeof event.data.count === 'number') {
        state.likes += event.data.count;
        addReactions(state.reactions, event);
      }
    } else if (event.type === 'status' && typeof event.data.status === 'string') {
      state.status = event.data.status.slice(0, 32);
    } else if (event.type === 'viewers' && typeof event.data.count === 'number') {
      state.viewers = event.data.count;
    } else if (event.type === 'snapshot') {
      const { likes, status, viewers } = event.data as Partial<TSnapshotPayload>;
      // A like total only grows: one lower than this node's is a log that lost likes (Redis
      // restarted empty, not restored yet) — what the node knows is what it gives back.
      if (typeof likes === 'number' && likes >= (state.likes ?? 0)) {
        state.likes = likes;
        state.reactions = { ...reactionsOf(event.data as TSnapshotPayload) };
      }
      if (typeof status === 'string') state.status = status;
      if (typeof viewers === 'number') state.viewers = viewers;
    }
  }

  private releaseReady(topic: string, state: TopicState): void {
    const out: TWireEvent[] = [];
    this.drainConsecutive(state, out);
    if (state.waiting.length > 0) this.arm(topic, state);
    if (out.length > 0) this.o.release(out);
  }

  private drainConsecutive(state: TopicState, out: TWireEvent[]): void {
    while (!state.repairing && state.waiting.peekFront()?.pos === state.next) {
      this.take(state, (state.waiting.shift() as Waiting).event, out);
    }
    emptied(state);
    if (!this.owed(state)) {
      clearTimeout(state.timer);
      state.timer = undefined;
    }
  }

  private arm(topic: string, state: TopicState, waitMs?: number): void {
    if (state.timer || state.repairing) return;
    const wait = waitMs ?? (state.next === undefined ? this.o.startWaitMs : this.o.gapWaitMs);
    state.timer = setTimeout(() => {
      state.timer = undefined;
      if (this.topics.get(topic) !== state) return;
      if (state.next === undefined) this.settle(topic);
      else if (this.owed(state)) void this.repair(topic, state);
    }, wait);
    state.timer.unref();
  }

  private async repair(topic: string, state: TopicState): Promise<void> {
    const from = (state.next as number) - 1;
    state.repairing = true;
    let read: TTopicCatchUp | undefined;
    try {
      read = await this.o.repair(topic, from, state.epoch);
    } catch {
      read = undefined;
    } finally {
      state.repairing = false;
    }
    if (this.topics.get(topic) !== state || state.next === undefined) return;
    const out: TWireEvent[] = [];
    if (!read) this.failed(topic, state, out);
    else if (read.epoch !== state.epoch) this.lostLog(topic, state, read, out);
    else if (read.trimmedThrough > from || read.cut) {
      // History no longer reaches back to the gap (or is more than one read returns): its events
      // are gone for this node's viewers, who reload.
      out.push(this.resyncEvent(topic, read.region));
      this.o.onGap(
        'resync',
        topic,
        read.cut ? 'history past the gap is more than one read' : 'history trimmed past the gap',
      );
      if (read.cut) {
        // What arrived still goes out (after the resync); the rest of the gap is not coming.
        while ((state.waiting.peekFront()?.pos ?? Number.POSITIVE_INFINITY) <= read.pos) {
          this.take(state, (state.waiting.shift() as Waiting).event, out);
        }
        state.next = read.pos + 1;
        state.owesSnapshot = true;
        this.fill(topic, state, { ...read, events: [] }, out);
      } else {
        state.next = Math.min(read.trimmedThrough + 1, state.waiting.peekFront()?.pos ?? Number.POSITIVE_INFINITY);
        state.owesSnapshot = true;
        this.fill(topic, state, read, out);
      }
    } else {
      this.fill(topic, state, read, out);
    }
    if (this.owed(state)) this.arm(topic, state);
    if (out.length > 0) this.o.release(out);
  }

  /** Whether the topic waits for something: early events, a snapshot, positions known to exist. */
  private owed(state: TopicState): boolean {
    return (
      state.waiting.length > 0 || state.owesSnapshot || (state.next !== undefined && state.next <= state.knownThrough)
    );
  }

  /**
   * Lets out everything up to the read position: history events and what arrived, in order; a
   * snapshot when a position is in neither (or one is owed). The sequence goes on after it.
   */
  private fill(topic: string, state: TopicState, read: TTopicCatchUp, out: TWireEvent[]): void {
    state.failures = 0;
    const next = state.next as number;
    const known = new Map<number, TWireEvent>();
    for (const event of read.events) {
      const pos = positionOf(event);
      if (pos >= next && pos <= read.pos) known.set(pos, event);
    }
    while ((state.waiting.peekFront()?.pos ?? Number.POSITIVE_INFINITY) <= read.pos) {
      const entry = state.waiting.shift() as Waiting;
      if (entry.pos >= next) known.set(entry.pos, entry.event);
    }
    const missing = read.pos - next + 1 - known.size;
    for (const pos of [...known.keys()].sort((a, b) => a - b)) this.take(state, known.get(pos) as TWireEvent, out);
    state.next = Math.max(state.next as number, read.pos + 1);
    state.knownThrough = Math.max(state.knownThrough, read.pos);
    if (missing > 0 || state.owesSnapshot) {
      // Likes of the gap are not in history: a `like` with what is missing keeps every viewer's sum
      // of counts exact (the contract's invariant), and the snapshot sets the state outright.
      // After a resync (a snapshot owed) the snapshot alone speaks: the viewers reload.
      const lost = state.likes === undefined || state.owesSnapshot ? 0 : read.likes - state.likes;
      const snapshot = this.snapshotEvent(topic, read, state);
      if (lost > 0) {
        // Per reaction too: what the log counted of each that this node did not.
        const data = { count: lost, byReaction: missingReactions(reactionsOf(read), state.reactions, lost) };
        const like: TWireEvent = { ...snapshot, type: 'like', data };
        out.push(like);
        this.apply(state, like);
      }
      out.push(snapshot);
      this.apply(state, snapshot);
      state.owesSnapshot = false;
      this.o.onGap('snapshot', topic);
    } else {
      this.o.onGap('repaired', topic);
    }
    this.drainConsecutive(state, out);
  }

  /** The tier could not be read: try again later; past MAX_REPAIR_MS the gap is given up. */
  private failed(topic: string, state: TopicState, out: TWireEvent[]): void {
    if (state.failures++ === 0) state.failingSince = this.now;
    if (state.waiting.length > 0 && this.now - state.failingSince > MAX_REPAIR_MS) {
      this.giveUp(topic, state, out);
      state.knownThrough = 0;
    } else this.o.onGap('retry', topic);
    const delay = Math.min(RETRY_MAX_MS, RETRY_BASE_MS * 2 ** Math.min(8, state.failures - 1));
    clearTimeout(state.timer);
    state.timer = undefined;
    this.arm(topic, state, delay);
  }

  /**
   * The log was lost (another epoch): what waits goes out, the viewers get `resync`, and the new
   * epoch is followed from its start (its events are read by the next repair, with a snapshot).
   */
  private lostLog(topic: string, state: TopicState, read: TTopicCatchUp, out: TWireEvent[]): void {
    // First the resync (what waited sits after a gap that will never be filled), then what waited.
    out.push(this.resyncEvent(topic, read.region));
    this.o.onGap('resync', topic, `the log was lost (epoch ${read.epoch}, was ${state.epoch})`);
    for (let entry = state.waiting.shift(); entry; entry = state.waiting.shift()) this.take(state, entry.event, out);
    emptied(state);
    state.previous = { epoch: state.epoch, next: state.next as number };
    state.epoch = read.epoch;
    state.next = 1;
    state.owesSnapshot = true;
    state.failures = 0;
    clearTimeout(state.timer);
    state.timer = undefined;
    this.arm(topic, state, 0);
  }

  /** The gap is lost for good: `resync`, then what waits; a snapshot is owed. */
  private giveUp(topic: string, state: TopicState, out: TWireEvent[]): void {
    const first = state.waiting.peekFront();
    out.push(this.resyncEvent(topic, first?.event.region ?? 'local'));
    this.o.onGap('resync', topic, `gap at ${state.next} given up (${state.waiting.length} events waiting)`);
    state.next = first?.pos ?? state.next;
    state.likes = undefined;
    state.reactions = {};
    state.owesSnapshot = true;
    state.failures = 0;
    this.drainConsecutive(state, out);
  }

  /**
   * A snapshot of `read`, its like total at least what this node counted (see apply; with that
   * total's reactions) and this node's status when the read has none (a log made again that has
   * not been restored yet).
   */
  private snapshotEvent(topic: string, read: TTopicCatchUp, state: TopicState): TWireEvent {
    const ts = this.now;
    const known = read.status ?? state.status;
    const ours = state.likes !== undefined && state.likes > read.likes;
    const data: TSnapshotPayload = {
      viewers: read.viewers,
      likes: ours ? (state.likes as number) : read.likes,
      reactions: ours ? { ...state.reactions } : reactionsOf(read),
      ...(known === undefined ? {} : { status: known }),
    };
    const id = positionId({ ts, pos: read.pos, epoch: read.epoch, region: read.region }, true);
    return { id, topic, type: 'snapshot', data, ts, region: read.region };
  }

  /** `resync` as an event of the topic's stream (encoded as a control frame without an id). */
  private resyncEvent(topic: string, region: string): TWireEvent {
    const data: TResyncPayload = { topic, reason: 'gap' };
    return { id: '', topic, type: 'resync', data, ts: this.now, region };
  }
}

/** A read's or snapshot's like total per reaction (one from before reactions: all `like`). */
function reactionsOf(source: { likes: number; reactions?: TReactionCounts | undefined }): TReactionCounts {
  return source.reactions ?? reactionTotals(source.likes, {});
}

/**
 * The `byReaction` of a repair's like of `lost`: per reaction, what the log counted beyond this
 * node (never below 0, at most what is left of `lost`); `like` takes the rest, so it sums to `lost`.
 */
function missingReactions(log: TReactionCounts, counted: TReactionCounts, lost: number): TReactionCounts {
  const missing: TReactionCounts = {};
  let left = lost;
  for (const reaction of COUNTED_REACTIONS) {
    const n = Math.min(left, Math.max(0, (log[reaction] ?? 0) - (counted[reaction] ?? 0)));
    if (n > 0) missing[reaction] = n;
    left -= n;
  }
  if (left > 0) missing.like = left;
  return missing;
}

function positionOf(event: TWireEvent): number {
  return parsePositionId(event.id)?.pos ?? -1;
}

/** A drained `waiting` that grew past SHRINK_WAITING_ABOVE gives its large array back. */
function emptied(state: TopicState): void {
  if (state.waitingGrew && state.waiting.length === 0) {
    state.waiting = new Denque<Waiting>();
    state.waitingGrew = false;
  }
}

/**
 * Inserts an early event in position order. An event in order never gets here (push takes it at
 * once); events after a gap mostly arrive in order, so the common case is an append at the back
 * (O(1), no allocation but the entry), and the queue drains from the front as the gap fills (O(1)
 * per event in a ring buffer, where Array#shift may move every element). An event that overtook
 * others is scanned for from the back and spliced in (Denque moves the shorter side). A binary
 * heap would make the common append O(log n) and lose the order switchEpoch, seed and lostLog
 * walk in. Guarded by `npm run bench -- --scenario dispatch` (every event through two nodes).
 */
function insertSorted(list: Denque<Waiting>, entry: Waiting): void {
  let i = list.length;
  while (i > 0 && (list.peekAt(i - 1)?.pos ?? 0) > entry.pos) i--;
  if (i > 0 && list.peekAt(i - 1)?.pos === entry.pos) return; // the same event twice: once is enough
  if (i === list.length) list.push(entry);
  else list.splice(i, 0, entry);
}

/** Remembers a relayed event's origin position (the highest per origin log, the latest origins). */
function noteRelayed(relayed: Map<string, number>, originId: string): void {
  const origin = parsePositionId(originId);
  if (!origin) return;
  const log = `${origin.epoch}-${origin.region}`;
  const known = relayed.get(log);
  if (known === undefined) {
    if (relayed.size >= MAX_RELAYED_ORIGINS) relayed.delete(relayed.keys().next().value as string);
    relayed.set(log, origin.pos);
  } else if (origin.pos > known) relayed.set(log, origin.pos);
}
