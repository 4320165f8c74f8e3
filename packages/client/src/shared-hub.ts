import {
  type ClientStatus,
  type ConnectToken,
  OVATION_EVENT_TYPES,
  RealtimeClient,
  type RealtimeClientOptions,
} from './realtime-client.js';
import type { EventEnvelope, UntypedEvents } from './wire.js';

/*
 * The one connection of an origin, shared by its tabs (see shared-connection.ts for who runs it):
 *
 *   tab ─ want {topics, types, lastIds} ─▶ ┌──────────── hub ────────────┐ ─ /connect ─▶ node
 *   tab ─ bye ───────────────────────────▶ │ union of the tabs' topics   │
 *   tabs ◀─ event / status / resync ────── │ last id of each topic       │ ◀─ events ── node
 *                                           └─────────────────────────────┘
 *
 * A tab says the whole set it wants each time (idempotent: a new leader asks every tab again and
 * gets the same answer). Topics join the open stream with POST /subscribe when the connection's
 * token grants them; otherwise a token for the new union is fetched and the stream is reopened,
 * resuming each topic from its last id so nothing published meanwhile is lost.
 */

/** A tab's message to the hub. */
export type TabMessage =
  | {
      t: 'want';
      tab: string;
      topics: string[];
      types: string[];
      /** The tab's last id per topic: resume points a new hub lacks (it may have missed a few). */
      lastIds: Record<string, string>;
      /** The connection's settings, for a hub in a SharedWorker (the first tab's are used). */
      config?: HubConfig;
    }
  | { t: 'bye'; tab: string };

export interface HubConfig {
  /** The shared connection's name (a worker holds one hub per name). */
  name: string;
  urls: string[];
  observer?: boolean | undefined;
  preferredUrl?: string | undefined;
  reportLatency?: boolean | undefined;
}

/** The hub's message to the tabs (all of them). */
export type HubMessage =
  | { t: 'leader'; leader: string }
  | { t: 'event'; event: EventEnvelope }
  | { t: 'status'; status: ClientStatus; node?: string }
  | { t: 'resync'; topic: string };

/** A connect token for a set of topics (the web's: GET /api/realtime-token?videoId=…&videoId=…). */
export type TopicsTokenSource = (topics: readonly string[]) => Promise<TopicsToken>;

export interface TopicsToken extends ConnectToken {
  /** What it grants, when the issuer says (else: all that was asked for). */
  topics?: readonly string[] | undefined;
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
  /** Resume points the hub starts from (the last ids its tab saw while another tab held the hub). */
  lastIds?: Readonly<Record<string, string>> | undefined;
  /** Anything else of the client (timers, an EventSource). */
  client?: Partial<RealtimeClientOptions<UntypedEvents>> | undefined;
  createClient?: ((options: RealtimeClientOptions<UntypedEvents>) => HubClient) | undefined;
  /** Calls `gone` when a tab that said what it wants is gone without a `bye` (see watchTabs). */
  watch?: ((tab: string, gone: () => void) => void) | undefined;
}

export class SharedHub {
  private readonly wants = new Map<string, { topics: Set<string>; types: Set<string> }>();
  private readonly lastIds = new Map<string, string>();
  private client: HubClient | undefined;
  /** The topics and types the current client was asked for. */
  private topics = new Set<string>();
  private types = new Set<string>();
  /** The topics the current connection's token grants. */
  private granted = new Set<string>();
  private status: { status: ClientStatus; node?: string } = { status: 'connecting' };
  /** Changes are applied one after another (a token fetch can be under way). */
  private queue: Promise<void> = Promise.resolve();
  private stopped = false;

  constructor(private readonly o: SharedHubOptions) {
    for (const [topic, id] of Object.entries(o.lastIds ?? {})) this.lastIds.set(topic, id);
  }

  want(message: Extract<TabMessage, { t: 'want' }>): void {
    if (this.stopped) return;
    for (const [topic, id] of Object.entries(message.lastIds)) {
      if (!this.lastIds.has(topic)) this.lastIds.set(topic, id);
    }
    // A topic the stream carries already gets no snapshot for this tab: the tab loads the topic's
    // state itself (a snapshot kept here would be stale: counts change by events after it).
    if (!this.wants.has(message.tab)) this.o.watch?.(message.tab, () => this.bye(message.tab));
    this.wants.set(message.tab, { topics: new Set(message.topics), types: new Set(message.types) });
    this.o.send({ t: 'status', ...this.status });
    this.reconcile();
  }

  bye(tab: string): void {
    if (this.stopped || !this.wants.delete(tab)) return;
    this.reconcile();
  }

  /** Closes the connection (the tab holding the hub is leaving). */
  stop(): void {
    this.stopped = true;
    this.client?.stop();
    this.client = undefined;
  }

  /** Resolves when the changes asked for so far are applied (tests). */
  settled(): Promise<void> {
    return this.queue;
  }

  private reconcile(): void {
    this.queue = this.queue.then(() => this.apply()).catch(() => this.retryLater());
  }

  private retryLater(): void {
    // The token could not be had: try again like any failed connect, with the client's backoff.
    const setTimer = this.o.client?.setTimeout ?? ((fn: () => void, ms: number) => globalThis.setTimeout(fn, ms));
    setTimer(() => this.reconcile(), 2_000);
  }

  private async apply(): Promise<void> {
    if (this.stopped) return;
    const topics = new Set<string>();
    const types = new Set<string>(OVATION_EVENT_TYPES);
    for (const want of this.wants.values()) {
      for (const topic of want.topics) topics.add(topic);
      for (const type of want.types) types.add(type);
    }
    if (topics.size === 0) {
      this.client?.stop();
      this.client = undefined;
      this.topics = new Set();
      return;
    }
    const added = [...topics].filter((t) => !this.topics.has(t));
    const removed = [...this.topics].filter((t) => !topics.has(t));
    if (this.client && added.every((t) => this.granted.has(t))) {
      for (const type of types) if (!this.types.has(type)) this.client.on(type, () => {});
      this.types = types;
      this.topics = topics;
      if (removed.length > 0) await this.client.unsubscribe(removed);
      if (added.length > 0) await this.client.subscribe(added);
      return;
    }
    // A first stream, or topics the connection's token does not grant: (re)open with a token for
    // all of them, resuming each topic where it was. Topics the issuer would not grant (a deleted
    // video) stay out of the stream, and are not asked for again until the set changes.
    const token = this.o.token ? await this.o.token([...topics]) : undefined;
    if (this.stopped) return;
    for (const [topic, id] of Object.entries(this.client?.resumePoints ?? {})) this.lastIds.set(topic, id);
    this.client?.stop();
    this.client = undefined;
    this.topics = topics;
    this.types = types;
    this.granted = new Set(token?.topics ?? topics);
    const streamed = [...topics].filter((t) => this.granted.has(t));
    if (streamed.length === 0) return;
    const lastEventIds = Object.fromEntries([...this.lastIds].filter(([topic]) => this.granted.has(topic)));
    const renew = this.o.token;
    const options: RealtimeClientOptions<UntypedEvents> = {
      reportLatency: this.o.reportLatency ?? false,
      ...this.o.client,
      urls: this.o.urls,
      topics: streamed,
      eventTypes: [...types],
      observer: this.o.observer ?? false,
      lastEventIds,
      ...(this.o.preferredUrl ? { preferredUrl: this.o.preferredUrl } : {}),
      ...(token && renew
        ? {
            token: {
              current: token,
              renew: () => {
                const now = [...this.topics];
                return renew(now).then((renewed) => {
                  this.granted = new Set(renewed.topics ?? now);
                  return { token: renewed.token, expiresAt: renewed.expiresAt };
                });
              },
            },
          }
        : {}),
      onEvent: (event) => this.deliver(event),
      onStatus: (status, detail) => {
        this.status = { status, ...(detail.nodeUrl ? { node: detail.nodeUrl } : {}) };
        this.o.send({ t: 'status', ...this.status });
      },
      onResync: (topic) => {
        this.lastIds.delete(topic);
        this.o.send({ t: 'resync', topic });
      },
    };
    const client = this.o.createClient ? this.o.createClient(options) : new RealtimeClient(options);
    this.client = client;
    client.start();
  }

  private deliver(event: EventEnvelope): void {
    if (!this.topics.has(event.topic)) return;
    this.lastIds.set(event.topic, event.id);
    this.o.send({ t: 'event', event });
  }
}

/** What the connection needs of navigator.locks. */
export interface LockManagerLike {
  request(name: string, options: { signal?: AbortSignal }, callback: () => Promise<void>): Promise<unknown>;
}

/** The lock a tab holds while it is joined (see holdAliveLock). */
export function tabLockName(name: string, tabId: string): string {
  return `${name}:tab:${tabId}`;
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
