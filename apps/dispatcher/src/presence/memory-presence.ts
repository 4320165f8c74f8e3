import type { TNodeTopicPresence, TPresenceList, TPresenceMember } from '@ovation/shared';
import type { PresenceChange, PresenceSettings, PresenceStore } from './presence-store.js';

/** One topic's presence in memory (the Redis layout's counterpart, redis-presence.ts). */
interface TopicPresence {
  /** Member (account or guest) → heartbeat expiry, ms. */
  expires: Map<string, number>;
  /** Accounts present → name and since when. */
  accounts: Map<string, { name: string; since: number }>;
  /** The accounts' ids, sorted: the paged list's order. */
  ids: string[];
  /** Joins since the last settle: the first names, and how many in all. */
  joins: TPresenceMember[];
  joinCount: number;
  /** The change settled and not yet published. */
  out: PresenceChange | undefined;
  /** The counts the last change published. */
  shown: { count: number; guests: number };
}

/** Presence in this process: one dispatcher (the memory engine). */
export class MemoryPresence implements PresenceStore {
  private readonly topics = new Map<string, TopicPresence>();
  /** Topic → when it is next due for a settle. */
  private readonly due = new Map<string, number>();
  /** Account → the latest expiry of its heartbeats on any topic. */
  private readonly lastSeen = new Map<string, number>();

  constructor(
    private readonly settings: PresenceSettings,
    private readonly now: () => number = Date.now,
  ) {}

  async report(topics: Readonly<Record<string, TNodeTopicPresence>>): Promise<void> {
    const now = this.now();
    const expiry = now + this.settings.ttlMs;
    for (const [topic, { present, gone }] of Object.entries(topics)) {
      let state = this.topics.get(topic);
      let joined = false;
      const newAccounts: string[] = [];
      for (const { id, name } of present) {
        if (!state) {
          state = newTopic();
          this.topics.set(topic, state);
        }
        const known = state.expires.get(id);
        state.expires.set(id, Math.max(known ?? 0, expiry));
        if (name !== undefined) this.lastSeen.set(id, Math.max(this.lastSeen.get(id) ?? 0, expiry));
        if (known !== undefined) continue;
        joined = true;
        if (name === undefined) continue;
        state.accounts.set(id, { name, since: now });
        newAccounts.push(id);
        if (state.joins.length < this.settings.maxNames) state.joins.push({ id, name });
        state.joinCount++;
      }
      // One merge per report, not an insertion per account (100,000 joins are not quadratic).
      if (state && newAccounts.length > 0) state.ids = mergeSorted(state.ids, newAccounts.sort());
      let departed = false;
      for (const id of gone) {
        const expiry = state?.expires.get(id);
        // Lowered, never raised (as on Redis): a late departure does not put a leave off.
        if (state && expiry !== undefined && expiry > now) {
          state.expires.set(id, now);
          departed = true;
        }
      }
      if (joined) this.markDue(topic, now);
      else if (departed) this.markDue(topic, now + this.settings.graceMs);
    }
  }

  async dueTopics(max: number): Promise<string[]> {
    const now = this.now();
    const out: string[] = [];
    for (const [topic, at] of this.due) {
      if (out.length >= max) break;
      if (at <= now) out.push(topic);
    }
    for (const [id, expiry] of this.lastSeen) if (expiry + this.settings.graceMs < now) this.lastSeen.delete(id);
    return out;
  }

  async settle(topic: string, seq: string): Promise<PresenceChange | undefined> {
    const state = this.topics.get(topic);
    if (!state) {
      this.due.delete(topic);
      return undefined;
    }
    if (state.out) return state.out;
    const now = this.now();
    const cutoff = now - this.settings.graceMs;
    const left: TPresenceMember[] = [];
    let leftCount = 0;
    let leaving = 0;
    const gone = new Set<string>();
    for (const [id, expiry] of state.expires) {
      if (expiry >= cutoff) continue;
      if (leaving++ >= this.settings.maxLeavePerSettle) break;
      state.expires.delete(id);
      const account = state.accounts.get(id);
      if (!account) continue;
      state.accounts.delete(id);
      gone.add(id);
      leftCount++;
      if (left.length < this.settings.maxNames) left.push({ id, name: account.name });
    }
    if (gone.size > 0) state.ids = state.ids.filter((id) => !gone.has(id));
    const count = state.accounts.size;
    const guests = state.expires.size - count;
    const change: PresenceChange = {
      seq,
      joined: state.joins,
      left,
      more: { joined: state.joinCount - state.joins.length, left: leftCount - left.length },
      count,
      guests,
    };
    state.joins = [];
    state.joinCount = 0;
    const unchanged =
      change.joined.length === 0 && leftCount === 0 && count === state.shown.count && guests === state.shown.guests;
    if (unchanged) {
      this.reschedule(topic, state, now);
      return undefined;
    }
    // Due until published: a publish that fails is tried again next round, with the same change.
    state.out = change;
    this.due.set(topic, now);
    return change;
  }

  async published(topic: string, seq: string): Promise<void> {
    const state = this.topics.get(topic);
    if (state?.out?.seq !== seq) return;
    state.shown = { count: state.out.count, guests: state.out.guests };
    state.out = undefined;
    this.reschedule(topic, state, this.now());
  }

  async list(topic: string, cursor: string | undefined, limit: number): Promise<TPresenceList> {
    const state = this.topics.get(topic);
    if (!state) return { count: 0, guests: 0, viewers: [], next: null };
    let start = cursor === undefined ? 0 : sortedIndex(state.ids, cursor);
    if (cursor !== undefined && state.ids[start] === cursor) start++;
    const page = state.ids.slice(start, start + limit);
    const viewers = page.map((id) => {
      const { name, since } = state.accounts.get(id) as { name: string; since: number };
      return { id, name, since: new Date(since).toISOString() };
    });
    const next = page.length === limit && start + limit < state.ids.length ? (page.at(-1) as string) : null;
    return { count: state.accounts.size, guests: state.expires.size - state.accounts.size, viewers, next };
  }

  async online(ids: readonly string[], topic?: string): Promise<Record<string, boolean>> {
    const now = this.now();
    const out: Record<string, boolean> = {};
    const here = topic === undefined ? undefined : this.topics.get(topic)?.accounts;
    for (const id of ids) {
      out[id] =
        topic === undefined
          ? (this.lastSeen.get(id) ?? Number.NEGATIVE_INFINITY) + this.settings.graceMs >= now
          : here?.has(id) === true;
    }
    return out;
  }

  private markDue(topic: string, at: number): void {
    const current = this.due.get(topic);
    if (current === undefined || at < current) this.due.set(topic, at);
  }

  /**
   * Due again when the first heartbeat expires past the grace — at once when more must leave (a
   * settle takes at most maxLeavePerSettle) — and forgotten when nobody is left.
   */
  private reschedule(topic: string, state: TopicPresence, now: number): void {
    if (state.expires.size === 0 && state.joinCount === 0) {
      this.topics.delete(topic);
      this.due.delete(topic);
      return;
    }
    let first = Number.POSITIVE_INFINITY;
    for (const expiry of state.expires.values()) first = Math.min(first, expiry);
    this.due.set(topic, state.joinCount > 0 ? now : Math.max(now, first + this.settings.graceMs));
  }
}

function newTopic(): TopicPresence {
  return {
    expires: new Map(),
    accounts: new Map(),
    ids: [],
    joins: [],
    joinCount: 0,
    out: undefined,
    shown: { count: 0, guests: 0 },
  };
}

/** Two sorted lists as one (no id is in both: `added` are new). */
function mergeSorted(ids: readonly string[], added: readonly string[]): string[] {
  const out: string[] = [];
  let j = 0;
  for (const id of ids) {
    while (j < added.length && (added[j] as string) < id) out.push(added[j++] as string);
    out.push(id);
  }
  while (j < added.length) out.push(added[j++] as string);
  return out;
}

/** Where `id` is or would go in the sorted `ids` (binary search). */
function sortedIndex(ids: readonly string[], id: string): number {
  let low = 0;
  let high = ids.length;
  while (low < high) {
    const mid = (low + high) >>> 1;
    if ((ids[mid] as string) < id) low = mid + 1;
    else high = mid;
  }
  return low;
}
