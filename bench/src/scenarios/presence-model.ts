import type { PresenceSettings, PresenceStore } from '@ovation/dispatcher/presence';
import {
  DEFAULT_PRESENCE_TTL_MS,
  MAX_PRESENCE_MEMBERS_PER_MESSAGE,
  MAX_PRESENCE_NAMES,
  randomTag,
  type TNodeTopicPresence,
} from '@ovation/shared';

/*
 * The presence scenario's model of who watches its one topic, and of the nodes that report them
 * (realtime presence-reporter.ts): what the store's counts and pages must come to.
 */

/** Heartbeats as deployed; a short grace so that departures leave within the run. */
export const SETTINGS: PresenceSettings = {
  ttlMs: DEFAULT_PRESENCE_TTL_MS,
  graceMs: 2000,
  maxNames: MAX_PRESENCE_NAMES,
  maxLeavePerSettle: 10_000,
};
/** Nodes send every member again this often (the dispatcher's ack: TTL / 3). */
export const REFRESH_MS = Math.floor(SETTINGS.ttlMs / 3);
export const TOPIC = 'video:presence-bench';
/** Every GUEST_EVERY-th watcher has no account: counted, never named. */
export const GUEST_EVERY = 10;

/** A watcher as a node reports it: an account (named) or a guest. */
export type Member = { id: string; name: string } | { id: string; name?: undefined };

export class Watchers {
  readonly members: Member[] = [];
  accounts = 0;
  private made = 0;

  add(n: number): Member[] {
    const added: Member[] = [];
    for (let i = 0; i < n; i++) {
      const k = this.made++;
      // Ids as the web app makes them (`u-` + 8 random bytes).
      const member: Member =
        k % GUEST_EVERY === GUEST_EVERY - 1
          ? { id: `v-${randomTag(8)}` }
          : { id: `u-${randomTag(8)}`, name: `Viewer ${k}` };
      if (member.name !== undefined) this.accounts++;
      this.members.push(member);
      added.push(member);
    }
    return added;
  }

  /** `n` random members leave (their last connection closed). */
  remove(n: number): Member[] {
    const removed: Member[] = [];
    for (let i = 0; i < n && this.members.length > 0; i++) {
      const at = Math.floor(Math.random() * this.members.length);
      const member = this.members[at] as Member;
      this.members[at] = this.members[this.members.length - 1] as Member;
      this.members.pop();
      if (member.name !== undefined) this.accounts--;
      removed.push(member);
    }
    return removed;
  }

  get guests(): number {
    return this.members.length - this.accounts;
  }
}

/** One node's presence messages: present, then gone, at most 5,000 members a message. */
export function messages(present: readonly Member[], gone: readonly Member[]): Record<string, TNodeTopicPresence>[] {
  const out: Record<string, TNodeTopicPresence>[] = [];
  const all = [...present.map((m) => ({ present: m })), ...gone.map((m) => ({ gone: m.id }))];
  for (let i = 0; i < all.length; i += MAX_PRESENCE_MEMBERS_PER_MESSAGE) {
    const entry: TNodeTopicPresence = { present: [], gone: [] };
    for (const item of all.slice(i, i + MAX_PRESENCE_MEMBERS_PER_MESSAGE)) {
      if ('present' in item) entry.present.push(item.present);
      else entry.gone.push(item.gone);
    }
    out.push({ [TOPIC]: entry });
  }
  return out;
}

/** The nodes holding the watchers, as one: arrivals and departures, and every member each REFRESH_MS. */
export class SimNodes {
  private refreshedAt = 0;

  constructor(
    private readonly store: PresenceStore,
    readonly watchers: Watchers,
  ) {}

  /** One flush: its messages one after the other, as a node sends them. */
  async send(present: readonly Member[], gone: readonly Member[] = []): Promise<void> {
    for (const message of messages(present, gone)) await this.store.report(message);
  }

  /** Every member was just sent. */
  refreshed(): void {
    this.refreshedAt = performance.now();
  }

  get refreshDue(): boolean {
    return performance.now() - this.refreshedAt >= REFRESH_MS;
  }

  /** A full refresh when one is due (kept out of what is timed). */
  async keepFresh(): Promise<void> {
    if (!this.refreshDue) return;
    this.refreshed();
    await this.send(this.watchers.members);
  }
}

export function quantile(values: readonly number[], q: number): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] as number;
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
