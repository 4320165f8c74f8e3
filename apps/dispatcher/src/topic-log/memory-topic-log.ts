import { COUNTED_REACTIONS, IDEMPOTENCY_TTL_MS, newEpoch, reactionTotals, type TReactionCounts } from '@ovation/shared';
import type { NodeInfo } from '../registry/registry.js';
import {
  type AcceptRequest,
  type AcceptResult,
  answer,
  DEFAULT_TOPIC_LOG_LIMITS,
  dedupeRange,
  HISTORY_TRIM_SLACK,
  RELAY_DEDUPE_TTL_MS,
  type ReadRequest,
  type RestoredState,
  type TopicAppend,
  type TopicLog,
  type TopicLogLimits,
  type TopicRead,
} from './topic-log.js';

interface TopicState {
  epoch: string;
  pos: number;
  trimmedThrough: number;
  likes: number;
  /** Of `likes`, the reactions other than `like` (which is the rest). */
  others: TReactionCounts;
  status: string | undefined;
  viewers: number | undefined;
  history: Array<{ pos: number; body: string }>;
  touchedAt: number;
  appendedAt: number;
}

/** The topic log in this process's memory (REDIS_URL unset: one dispatcher). */
export class MemoryTopicLog implements TopicLog {
  private readonly topics = new Map<string, TopicState>();
  /** Dedupe bitmaps of relayed events: key → positions seen, and when the key was last touched. */
  private readonly relayed = new Map<string, DedupeBits>();
  /** Used idempotency keys → their answer (see AcceptRequest), until `expiresAt`. */
  private readonly answers = new Map<string, { value: string; expiresAt: number }>();

  constructor(
    private readonly nodesFor: (topics: readonly string[]) => Promise<Map<string, NodeInfo[]>>,
    private readonly limits: TopicLogLimits = DEFAULT_TOPIC_LOG_LIMITS,
    private readonly now: () => number = Date.now,
  ) {}

  async accept(appends: readonly TopicAppend[], request?: AcceptRequest): Promise<AcceptResult> {
    const now = this.now();
    if (request?.key !== undefined) {
      const done = this.answerOf(`request:${request.key}`, now);
      if (done !== undefined) return { replay: done.split(',') };
    }
    const duplicates: Array<{ append: number; index: number; answer?: string }> = [];
    appends.forEach((append, a) => {
      for (const mark of append.dedupe ?? []) {
        if (marked(this.relayed.get(mark.key), mark.bit)) duplicates.push({ append: a, index: mark.index });
      }
      for (const { index, key } of append.keys ?? []) {
        const known = this.answerOf(`event:${key}`, now);
        if (known !== undefined) duplicates.push({ append: a, index, answer: known });
      }
      for (const { index, key } of append.relayKeys ?? []) {
        const known = this.answerOf(`relayed:${key}`, now);
        if (known !== undefined) duplicates.push({ append: a, index, answer: known });
      }
    });
    if (duplicates.length > 0) return { duplicates };
    for (const append of appends) {
      for (const mark of append.dedupe ?? []) {
        const entry = this.relayed.get(mark.key) ?? { bits: new Set<number>(), touchedAt: now };
        entry.bits.add(mark.bit);
        entry.touchedAt = now;
        this.relayed.set(mark.key, entry);
      }
    }
    const answers: string[] = [];
    for (const [index, value] of request?.prefilled ?? []) answers[index] = value;
    // Appended before the look-up below: see topic-log.ts for why the order matters.
    const accepted = appends.map((append, a) => {
      const state = this.state(append.topic, append.newEpoch);
      const base = state.pos;
      state.pos += append.count;
      state.likes += append.likeDelta;
      for (const reaction of COUNTED_REACTIONS) {
        const delta = append.reactionDeltas[reaction];
        if (delta) state.others[reaction] = (state.others[reaction] ?? 0) + delta;
      }
      if (append.status !== undefined) state.status = append.status;
      if (append.viewers !== undefined) state.viewers = append.viewers;
      if (append.history.length > 0) {
        for (const { index, body } of append.history) state.history.push({ pos: base + index + 1, body });
        this.trim(state);
        state.appendedAt = this.now();
      }
      const time = request?.time ?? '';
      const expiresAt = now + IDEMPOTENCY_TTL_MS;
      for (const { index, key } of append.keys ?? []) {
        this.answers.set(`event:${key}`, { value: answer(time, base + index + 1, state.epoch), expiresAt });
      }
      for (const { index, key } of append.relayKeys ?? []) {
        this.answers.set(`relayed:${key}`, { value: answer(time, base + index + 1, state.epoch), expiresAt });
      }
      (request?.order[a] ?? []).forEach((index, k) => {
        answers[index] = answer(time, base + k + 1, state.epoch);
      });
      return { epoch: state.epoch, base };
    });
    if (request?.key !== undefined) {
      const value = Array.from({ length: request.size }, (_, i) => answers[i] ?? '').join(',');
      this.answers.set(`request:${request.key}`, { value, expiresAt: now + IDEMPOTENCY_TTL_MS });
    }
    const nodes = await this.nodesFor(appends.map((a) => a.topic));
    return accepted.map((a, i) => ({ ...a, nodes: nodes.get(appends[i]?.topic ?? '') ?? [] }));
  }

  async restore(states: readonly RestoredState[]): Promise<void> {
    const now = this.now();
    for (const { topic, likes, reactions, status, viewers, relayed } of states) {
      for (const [originLog, through] of Object.entries(relayed ?? {})) {
        for (const { key, from, to } of dedupeRange(originLog, through)) {
          const entry = this.relayed.get(key) ?? { bits: new Set<number>(), touchedAt: now };
          entry.range = entry.range
            ? { from: Math.min(entry.range.from, from), to: Math.max(entry.range.to, to) }
            : { from, to };
          entry.touchedAt = now;
          this.relayed.set(key, entry);
        }
      }
      const existed = this.topics.has(topic);
      const state = this.state(topic, undefined);
      if (state.pos > 0) continue;
      // Someone may hold the state of a log that existed at position 0: a change gets a new epoch.
      const changed = likes > state.likes || (state.status === undefined && status !== undefined);
      if (likes > state.likes) {
        // The higher total with its own reactions: the two always go together.
        state.likes = likes;
        const { like: _rest, ...others } = reactionTotals(likes, reactions ?? {});
        state.others = others;
      }
      state.status ??= status;
      state.viewers ??= viewers;
      if (existed && changed) state.epoch = newEpoch();
    }
  }

  private answerOf(key: string, now: number): string | undefined {
    const entry = this.answers.get(key);
    return entry && entry.expiresAt > now ? entry.value : undefined;
  }

  async viewerCounts(topics: readonly string[]): Promise<Map<string, number | undefined>> {
    return new Map(topics.map((topic) => [topic, this.topics.get(topic)?.viewers]));
  }

  async readMany(requests: readonly ReadRequest[]): Promise<TopicRead[]> {
    return Promise.all(requests.map((r) => this.read(r.topic, r.from, r.epochs)));
  }

  async read(topic: string, from: number | undefined, epochs?: readonly string[]): Promise<TopicRead> {
    const state = this.state(topic, undefined);
    const wanted = from !== undefined && (!epochs?.length || epochs.includes(state.epoch));
    const events = wanted ? state.history.filter((e) => e.pos > from) : [];
    const { epoch, pos, trimmedThrough, likes, status, viewers } = state;
    const reactions = reactionTotals(likes, state.others);
    return { epoch, pos, trimmedThrough, likes, reactions, status, viewers, events };
  }

  shardOf(): number {
    return -1;
  }

  sweep(): void {
    const now = this.now();
    for (const [key, entry] of this.relayed) if (now - entry.touchedAt > RELAY_DEDUPE_TTL_MS) this.relayed.delete(key);
    for (const [key, entry] of this.answers) if (entry.expiresAt <= now) this.answers.delete(key);
    for (const [topic, state] of this.topics) {
      // A log only ever read (no event yet) goes as soon as an idle history would.
      const ttl = state.pos === 0 ? this.historyTtlMs : this.limits.stateTtlMs;
      if (now - state.touchedAt > ttl) this.topics.delete(topic);
      else if (state.history.length > 0 && now - state.appendedAt > this.historyTtlMs) state.history = [];
    }
  }

  /** An idle history is dropped a minute after its newest event is too old to resume from. */
  private get historyTtlMs(): number {
    return this.limits.maxAgeMs + 60_000;
  }

  private state(topic: string, epoch: string | undefined): TopicState {
    const now = this.now();
    let state = this.topics.get(topic);
    if (state && now - state.touchedAt > this.limits.stateTtlMs) state = undefined;
    if (!state) {
      state = {
        epoch: epoch ?? newEpoch(),
        pos: 0,
        trimmedThrough: 0,
        likes: 0,
        others: {},
        status: undefined,
        viewers: undefined,
        history: [],
        touchedAt: now,
        appendedAt: now,
      };
      this.topics.set(topic, state);
    }
    state.touchedAt = now;
    return state;
  }

  private trim(state: TopicState): void {
    const { maxEvents } = this.limits;
    if (state.history.length <= maxEvents * (1 + HISTORY_TRIM_SLACK)) return;
    const dropped = state.history.splice(0, state.history.length - maxEvents);
    state.trimmedThrough = dropped[dropped.length - 1]?.pos ?? state.trimmedThrough;
  }
}

/** One dedupe bitmap: bits set one by one, and a range set at once (TopicLog.restore). */
interface DedupeBits {
  bits: Set<number>;
  range?: { from: number; to: number };
  touchedAt: number;
}

function marked(entry: DedupeBits | undefined, bit: number): boolean {
  if (!entry) return false;
  return entry.bits.has(bit) || (entry.range !== undefined && bit >= entry.range.from && bit <= entry.range.to);
}
