import {
  backoffDelay,
  type ClientStatus,
  type ConnectToken,
  OVATION_EVENT_TYPES,
  RealtimeClient,
  type RealtimeClientOptions,
} from './realtime-client.js';
import {
  type HubMessage,
  isUrl,
  isVideoTopic,
  MAX_TOPICS_PER_CONNECTION,
  MAX_VIDEOS_PER_TOKEN,
  type RefusedReason,
  SHARED_PROTOCOL_VERSION,
  type TabMessage,
  topicProblem,
  versionedName,
} from './shared-protocol.js';
import { foldTopicState, snapshotEvent, type TopicState } from './topic-state.js';
import type { EventEnvelope, UntypedEvents } from './wire.js';

export type { HubConfig, HubMessage, RefusedReason, TabMessage } from './shared-protocol.js';

/*
 * The one connection of an origin, shared by its tabs (see shared-connection.ts for who runs it):
 *
 *   tab ─ want {topics, types, lastIds} ─▶ ┌──────────── hub ────────────┐ ─ /connect ─▶ node
 *   tab ─ bye ───────────────────────────▶ │ union of the tabs' topics   │
 *   tabs ◀─ event / status / resync ────── │ last id of each topic       │ ◀─ events ── node
 *   new tab ◀─ state (a snapshot) ──────── │ state of each topic         │
 *                                           └─────────────────────────────┘
 *
 * A tab says the whole set it wants each time (idempotent: a new leader asks every tab again and
 * gets the same answer). Topics join the open stream with POST /subscribe when the connection's
 * token grants them; otherwise a token for the new union is fetched and the stream is reopened,
 * resuming each topic from its last id so nothing published meanwhile is lost.
 */

/** A connect token for a set of topics (the web's: GET /api/realtime-token?videoId=…&videoId=…). */
export type TopicsTokenSource = (topics: readonly string[]) => Promise<TopicsToken>;

export interface TopicsToken extends ConnectToken {
  /** What it grants, when the issuer says (else: all that was asked for). */
  topics?: readonly string[] | undefined;
  /** The realtime nodes as of this answer (the web tier's `realtimeUrls`): the hub's newest list. */
  realtimeUrls?: readonly string[] | undefined;
}

/** What the hub needs of a client (RealtimeClient; a fake in tests). */
export interface HubClient {
  start(): void;
  stop(): void;
  subscribe(topics: readonly string[]): Promise<void>;
  unsubscribe(topics: readonly string[]): Promise<void>;
  on(type: string, handler: () => void): () => void;
  readonly resumePoints: Record<string, string>;
}

export interface SharedHubOptions {
  urls: readonly string[];
  send: (message: HubMessage) => void;
  token?: TopicsTokenSource | undefined;
  observer?: boolean | undefined;
  preferredUrl?: string | undefined;
  reportLatency?: boolean | undefined;
  /**
   * The node the previous hub's stream used (its last status): resume points are ids of that
   * node's region, so a takeover connects there first (elsewhere they would resync every topic).
   */
  lastNode?: string | undefined;
  /** Resume points the hub starts from (the last ids its tab saw while another tab held the hub). */
  lastIds?: Readonly<Record<string, string>> | undefined;
  /** Anything else of the client (timers, an EventSource). */
  client?: Partial<RealtimeClientOptions<UntypedEvents>> | undefined;
  createClient?: ((options: RealtimeClientOptions<UntypedEvents>) => HubClient) | undefined;
  /** Calls `gone` when a tab that said what it wants is gone without a `bye` (see watchTabs). */
  watch?: ((tab: string, gone: () => void) => void) | undefined;
  /**
   * Where there is no `watch` (a SharedWorker without Web Locks): a tab not heard from for this
   * long is gone (tabs say what they want again every TAB_HEARTBEAT_MS).
   */
  expireTabsAfterMs?: number | undefined;
  /**
   * A hub in a SharedWorker: sends `beat` to the tabs this often, so that a tab learns the worker
   * died (crashed, killed by the browser) when it falls silent (see WORKER_HEARTBEAT_MS).
   */
  heartbeatMs?: number | undefined;
}

/** How often a SharedWorker's hub tells its tabs it is alive; three missed and a tab takes over. */
export const WORKER_HEARTBEAT_MS = 10_000;

/** How often a tab on a SharedWorker says again what it wants (see expireTabsAfterMs). */
export const TAB_HEARTBEAT_MS = 20_000;

/** The token's retries: full jitter over an exponential cap (the client's backoff), in ms. */
const TOKEN_RETRY_BASE_MS = 1_000;
const TOKEN_RETRY_MAX_MS = 60_000;

export class SharedHub {
  private readonly wants = new Map<string, { topics: Set<string>; types: Set<string> }>();
  private readonly lastIds = new Map<string, string>();
  /** What each carried topic's events say its state is (see topic-state.ts): for tabs that join late. */
  private readonly states = new Map<string, TopicState>();
  private client: HubClient | undefined;
  /** The topics and types the current client was asked for. */
  private topics = new Set<string>();
  private types = new Set<string>();
  /** The topics the current connection's token grants. */
  private granted = new Set<string>();
  /** The topics refused as last told to the tabs (only changes are told; a tab joining one is told again). */
  private refused: Record<string, RefusedReason> = {};
  private status: { status: ClientStatus; node?: string } = { status: 'connecting' };
  /** The node the stream last used: a stream opened again (a takeover, a new token) tries it first. */
  private node: string | undefined;
  /** Changes are applied one after another (a token fetch can be under way). */
  private queue: Promise<void> = Promise.resolve();
  /** The one retry of a failed token fetch, and the failures in a row (its backoff). */
  private retryTimer: unknown;
  private failures = 0;
  private stopped = false;
  /** Who the tabs said the viewer is (see `want`'s identity): one new to the hub reopens the stream. */
  private readonly identities = new Set<string>();
  /** When each tab last said what it wants, and the sweep that drops the silent ones. */
  private readonly heard = new Map<string, number>();
  private sweepTimer: unknown;
  private beatTimer: unknown;
  /**
   * The realtime nodes: the settings' at first, then those of the newest token answer. The
   * clients are given this very array (updated in place), so a reconnection uses the newest.
   */
  private readonly urls: string[];

  constructor(private readonly o: SharedHubOptions) {
    for (const [topic, id] of Object.entries(o.lastIds ?? {})) this.lastIds.set(topic, id);
    this.node = o.lastNode;
    this.urls = [...o.urls];
    this.beat();
  }

  /** The nodes the hub connects to (tests). */
  get realtimeUrls(): readonly string[] {
    return this.urls;
  }

  want(message: Extract<TabMessage, { t: 'want' }>): void {
    if (this.stopped) return;
    for (const [topic, id] of Object.entries(message.lastIds)) {
      if (!this.lastIds.has(topic)) this.lastIds.set(topic, id);
    }
    if (!this.wants.has(message.tab)) this.o.watch?.(message.tab, () => this.bye(message.tab));
    const topics = new Set(message.topics);
    const types = new Set(message.types);
    const before = this.wants.get(message.tab);
    this.wants.set(message.tab, { topics, types });
    this.heard.set(message.tab, (this.o.client?.now ?? Date.now)());
    this.scheduleSweep();
    this.send({ t: 'status', ...this.status });
    // The resume point of every topic carried: a tab that joined a quiet topic has one too, and
    // resumes from it if it becomes the hub (else a comment published meanwhile would be lost).
    this.sendPoints();
    // A topic the stream carries already gets no snapshot from the node for this tab: the hub's
    // state of it instead (else a count changed before the tab joined would stay missing there).
    const added = [...topics].filter((topic) => !before?.topics.has(topic));
    for (const topic of added) this.handOver(message.tab, topic);
    // A tab asking for a topic refused already is told (the others were, when it was refused).
    if (added.some((topic) => Object.hasOwn(this.refused, topic))) this.send({ t: 'refused', topics: this.refused });
    if (this.newIdentity(message.identity)) return;
    // A heartbeat (the same wants again) changes nothing.
    if (before && sameSet(before.topics, topics) && sameSet(before.types, types)) return;
    this.reconcile();
  }

  /**
   * Someone new says they watch (a guest signed in): the stream's token names who it was opened
   * for (presence), so it is opened again with a new one, resuming each topic where it was. The
   * first identity heard, and one heard before (a tab that has not caught up yet), change nothing:
   * tabs that disagree for a moment do not make the stream flap. True when it reopens.
   */
  private newIdentity(identity: string | undefined): boolean {
    if (identity === undefined || this.identities.has(identity)) return false;
    const first = this.identities.size === 0;
    this.identities.add(identity);
    if (first || !this.client) return false;
    this.currentPoints();
    this.client.stop();
    this.client = undefined;
    this.reconcile();
    return true;
  }

  bye(tab: string): void {
    this.heard.delete(tab);
    if (this.stopped || !this.wants.delete(tab)) return;
    this.reconcile();
  }

  /** Closes the connection (the tab holding the hub is leaving). */
  stop(): void {
    this.stopped = true;
    this.clearRetry();
    if (this.sweepTimer !== undefined) this.clearTimer(this.sweepTimer);
    this.sweepTimer = undefined;
    if (this.beatTimer !== undefined) this.clearTimer(this.beatTimer);
    this.beatTimer = undefined;
    this.client?.stop();
    this.client = undefined;
  }

  /** Resolves when the changes asked for so far are applied (tests). */
  settled(): Promise<void> {
    return this.queue;
  }

  /** Each carried topic's resume point (tests). */
  get resumePoints(): Record<string, string> {
    return Object.fromEntries(this.currentPoints());
  }

  private send(message: DistributiveOmit<HubMessage, 'v'>): void {
    this.o.send({ v: SHARED_PROTOCOL_VERSION, ...message } as HubMessage);
  }

  private currentPoints(): Map<string, string> {
    for (const [topic, id] of Object.entries(this.client?.resumePoints ?? {})) {
      if (this.topics.has(topic)) this.lastIds.set(topic, id);
    }
    return this.lastIds;
  }

  private sendPoints(): void {
    const points = this.currentPoints();
    if (points.size > 0) this.send({ t: 'points', lastIds: Object.fromEntries(points) });
  }

  /** A topic no longer granted (a video made private) keeps no state to hand over. */
  private forgetUngranted(): void {
    for (const topic of this.states.keys()) if (!this.granted.has(topic)) this.states.delete(topic);
  }

  private handOver(tab: string, topic: string): void {
    const id = this.lastIds.get(topic);
    if (!this.topics.has(topic) || !this.granted.has(topic) || id === undefined) return;
    const event = snapshotEvent(topic, id, this.states.get(topic), (this.o.client?.now ?? Date.now)());
    if (event) this.send({ t: 'state', tab, event });
  }

  private reconcile(): void {
    this.queue = this.queue.then(() => this.apply()).catch((error: unknown) => this.retryLater(error));
  }

  private retryLater(error: unknown): void {
    // The token could not be had: one retry, with the client's backoff (or longer, when the web
    // tier says how long with Retry-After). Changes meanwhile wait for it (see apply).
    if (this.stopped) return;
    this.failures += 1;
    const random = this.o.client?.random ?? Math.random;
    const told = (error as { retryAfterMs?: unknown } | undefined)?.retryAfterMs;
    const delay = Math.max(
      backoffDelay(this.failures, TOKEN_RETRY_BASE_MS, TOKEN_RETRY_MAX_MS, random),
      typeof told === 'number' && Number.isFinite(told) ? Math.min(told, 3_600_000) : 0,
    );
    this.clearRetry();
    this.retryTimer = this.setTimer(() => {
      this.retryTimer = undefined;
      this.reconcile();
    }, delay);
  }

  private clearRetry(): void {
    if (this.retryTimer === undefined) return;
    this.clearTimer(this.retryTimer);
    this.retryTimer = undefined;
  }

  /** The client's timer when given (tests), else the global one, unref'd where it can be (Node). */
  private setTimer(fn: () => void, ms: number): unknown {
    if (this.o.client?.setTimeout) return this.o.client.setTimeout(fn, ms);
    const timer = globalThis.setTimeout(fn, ms) as { unref?: () => void };
    timer.unref?.();
    return timer;
  }

  /** A SharedWorker's hub: `beat` every heartbeatMs until it stops. */
  private beat(): void {
    const every = this.o.heartbeatMs;
    if (every === undefined || every <= 0 || this.stopped) return;
    this.beatTimer = this.setTimer(() => {
      this.beatTimer = undefined;
      if (this.stopped) return;
      this.send({ t: 'beat' });
      this.beat();
    }, every);
  }

  /** Takes the node list of a token answer, when it has a well-formed one (else keeps the last). */
  private useUrls(urls: readonly string[] | undefined): void {
    if (!Array.isArray(urls)) return;
    const fresh = [...new Set(urls.filter(isUrl))];
    if (fresh.length === 0 || (fresh.length === this.urls.length && fresh.every((u, i) => this.urls[i] === u))) return;
    this.urls.splice(0, this.urls.length, ...fresh);
  }

  private clearTimer(handle: unknown): void {
    const clearTimer =
      this.o.client?.clearTimeout ??
      ((timer: unknown) => globalThis.clearTimeout(timer as ReturnType<typeof setTimeout>));
    clearTimer(handle);
  }

  /** Drops the tabs silent for expireTabsAfterMs (a hub without `watch`), checking every half of it. */
  private scheduleSweep(): void {
    const expire = this.o.expireTabsAfterMs;
    if (expire === undefined || this.o.watch || this.sweepTimer !== undefined || this.stopped) return;
    this.sweepTimer = this.setTimer(() => {
      this.sweepTimer = undefined;
      const now = (this.o.client?.now ?? Date.now)();
      for (const [tab, at] of [...this.heard]) if (now - at > expire) this.bye(tab);
      if (this.heard.size > 0) this.scheduleSweep();
    }, expire / 2);
  }

  /**
   * The union of the tabs' topics the hub may carry — well-formed (topicProblem), at most
   * MAX_TOPICS_PER_CONNECTION with at most MAX_VIDEOS_PER_TOKEN videos, the earliest tabs' first —
   * and the refused ones with why.
   */
  private union(): { topics: Set<string>; types: Set<string>; refused: Map<string, RefusedReason> } {
    const topics = new Set<string>();
    const types = new Set<string>(OVATION_EVENT_TYPES);
    const refused = new Map<string, RefusedReason>();
    let videos = 0;
    for (const want of this.wants.values()) {
      for (const type of want.types) if (/^[a-z_]{1,32}$/.test(type)) types.add(type);
      for (const topic of want.topics) {
        if (topics.has(topic) || refused.has(topic)) continue;
        if (typeof topic !== 'string' || topicProblem(topic)) refused.set(String(topic), 'invalid');
        else if (topics.size >= MAX_TOPICS_PER_CONNECTION || (isVideoTopic(topic) && videos >= MAX_VIDEOS_PER_TOKEN)) {
          refused.set(topic, 'too_many');
        } else {
          topics.add(topic);
          if (isVideoTopic(topic)) videos += 1;
        }
      }
    }
    return { topics, types, refused };
  }

  private tellRefused(refused: Map<string, RefusedReason>): void {
    for (const topic of this.topics) if (!this.granted.has(topic)) refused.set(topic, 'not_granted');
    const topics = Object.fromEntries(refused);
    if (JSON.stringify(topics) === JSON.stringify(this.refused)) return;
    this.refused = topics;
    this.send({ t: 'refused', topics });
  }

  private async apply(): Promise<void> {
    if (this.stopped) return;
    const { topics, types, refused } = this.union();
    const removed = [...this.topics].filter((t) => !topics.has(t));
    // A topic no tab wants any more: its resume point and state go too.
    for (const topic of removed) {
      this.lastIds.delete(topic);
      this.states.delete(topic);
    }
    if (topics.size === 0) {
      this.client?.stop();
      this.client = undefined;
      this.topics = new Set();
      this.tellRefused(refused);
      return;
    }
    const added = [...topics].filter((t) => !this.topics.has(t));
    if (this.client && added.every((t) => this.granted.has(t))) {
      for (const type of types) if (!this.types.has(type)) this.client.on(type, () => {});
      this.types = types;
      this.topics = topics;
      this.tellRefused(refused);
      if (removed.length > 0) await this.client.unsubscribe(removed);
      if (added.length > 0) await this.client.subscribe(added);
      return;
    }
    // A token is needed; a retry is already scheduled: it applies this change too, when it runs.
    if (this.retryTimer !== undefined) return;
    // A first stream, or topics the connection's token does not grant: (re)open with a token for
    // all of them, resuming each topic where it was. Topics the issuer would not grant (a deleted
    // video) stay out of the stream, and are not asked for again until the set changes.
    const token = this.o.token ? await this.o.token([...topics]) : undefined;
    this.failures = 0;
    if (this.stopped) return;
    this.useUrls(token?.realtimeUrls);
    this.currentPoints();
    this.client?.stop();
    this.client = undefined;
    this.topics = topics;
    this.types = types;
    this.granted = new Set(token?.topics ?? topics);
    this.forgetUngranted();
    this.tellRefused(refused);
    const streamed = [...topics].filter((t) => this.granted.has(t));
    if (streamed.length === 0) return;
    const lastEventIds = Object.fromEntries([...this.lastIds].filter(([topic]) => this.granted.has(topic)));
    const renew = this.o.token;
    let made: HubClient | undefined;
    const preferredUrl = this.node && this.urls.includes(this.node) ? this.node : this.o.preferredUrl;
    const options: RealtimeClientOptions<UntypedEvents> = {
      reportLatency: this.o.reportLatency ?? false,
      ...this.o.client,
      urls: this.urls,
      topics: streamed,
      eventTypes: [...types],
      observer: this.o.observer ?? false,
      lastEventIds,
      ...(preferredUrl ? { preferredUrl } : {}),
      ...(token && renew
        ? {
            token: {
              current: token,
              renew: () => {
                const now = [...this.topics];
                return renew(now).then((renewed) => {
                  this.useUrls(renewed.realtimeUrls);
                  // Only for this client: a renewal returning after the stream was replaced would
                  // overwrite the newer connection's grant.
                  if (this.client === made && made !== undefined) {
                    this.granted = new Set(renewed.topics ?? now);
                    this.forgetUngranted();
                  }
                  return { token: renewed.token, expiresAt: renewed.expiresAt };
                });
              },
            },
          }
        : {}),
      onEvent: (event) => {
        if (this.client === made) this.deliver(event);
      },
      onStatus: (status, detail) => {
        if (this.client !== made) return;
        this.status = { status, ...(detail.nodeUrl ? { node: detail.nodeUrl } : {}) };
        if (status === 'open' && detail.nodeUrl) this.node = detail.nodeUrl;
        this.send({ t: 'status', ...this.status });
      },
      onResync: (topic) => {
        if (this.client !== made) return;
        this.lastIds.delete(topic);
        this.states.delete(topic);
        this.send({ t: 'resync', topic });
      },
    };
    made = this.o.createClient ? this.o.createClient(options) : new RealtimeClient(options);
    this.client = made;
    made.start();
  }

  private deliver(event: EventEnvelope): void {
    if (!this.topics.has(event.topic)) return;
    this.lastIds.set(event.topic, event.id);
    const state = foldTopicState(this.states.get(event.topic), event);
    if (state) this.states.set(event.topic, state);
    this.send({ t: 'event', event });
  }
}

function sameSet(a: ReadonlySet<string>, b: ReadonlySet<string>): boolean {
  return a.size === b.size && [...a].every((item) => b.has(item));
}

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

/** What the connection needs of navigator.locks. */
export interface LockManagerLike {
  request(name: string, options: { signal?: AbortSignal }, callback: () => Promise<void>): Promise<unknown>;
}

/** The lock a tab holds while it is joined (see holdAliveLock). */
export function tabLockName(name: string, tabId: string): string {
  return `${versionedName(name)}:tab:${tabId}`;
}

/**
 * A hub's `watch`: asks for each tab's own lock, granted when the tab is gone, and then calls
 * `gone` (the hub drops the tab's topics).
 */
export function watchTabs(
  locks: LockManagerLike,
  name: string,
  signal?: AbortSignal,
): (tab: string, gone: () => void) => void {
  return (tab, gone) => {
    locks
      .request(tabLockName(name, tab), signal ? { signal } : {}, async () => {
        if (!signal?.aborted) gone();
      })
      .catch(() => {
        // Aborted: this hub was given up.
      });
  };
}
