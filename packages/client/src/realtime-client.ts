import {
  asConnected,
  asEnvelope,
  asReconnect,
  asResync,
  controlPayload,
  type EventMap,
  type OvationEvents,
  type TypedEvent,
} from './wire.js';

/*
 * One EventSource to one realtime node, chosen at random from `urls` so viewers spread over nodes.
 *
 *   connect ──▶ node A ── events, heartbeats ──▶ handlers
 *       │ error / silence past the watchdog / `reconnect` frame / page hidden too long
 *       ▼
 *   wait (server's afterMs, or exponential backoff with full jitter) ──▶ another node,
 *   `?lastEventId=<last id of each topic>` so the new node can replay what was missed
 *
 * The EventSource's own retry is not used: it would go back to the same node. Everything the
 * client touches in the environment (EventSource, timers, randomness, clock, page visibility,
 * fetch) is injected, so its behaviour is unit-tested without a browser.
 */

/**
 * What the client needs of an EventSource: the browser's, or a Node one (the `eventsource`
 * package's fits as it is). `onerror` takes `never` because the client only sets it: that way any
 * EventSource's own event type fits.
 */
export interface EventSourceLike {
  onerror: ((event: never) => void) | null;
  addEventListener(type: string, listener: (event: { data: string; lastEventId?: string }) => void): void;
  close(): void;
}

export type ClientStatus = 'connecting' | 'open' | 'reconnecting' | 'paused' | 'closed';

/** The subset of `fetch` the client uses (the global one fits). */
export type FetchLike = (
  url: string,
  init: { method: string; headers: Record<string, string>; body: string },
) => Promise<{ ok: boolean; status: number }>;

export interface ConnectToken {
  token: string;
  /** When the token stops being accepted, ms since the epoch. */
  expiresAt: number;
}

/** The connection token (`token=` on /connect) and how to get a new one (see `tokenFromWeb`). */
export interface TokenSource {
  current?: ConnectToken | undefined;
  renew: () => Promise<ConnectToken>;
}

export interface VisibilitySource {
  isHidden(): boolean;
  onChange(listener: () => void): () => void;
}

export interface RealtimeClientOptions<M extends EventMap = OvationEvents> {
  /** The realtime nodes (the web tier's `realtimeUrls`). */
  urls: readonly string[];
  topics?: readonly string[];
  /**
   * Event types to listen for (SSE `event:` names): an EventSource only delivers named events it
   * listens to. `on(type)` adds its type; the default is every type of Ovation's own topics.
   */
  eventTypes?: readonly (keyof M & string)[];
  /** Every event of the listened types (see also `on`). */
  onEvent?: (event: TypedEvent<M>) => void;
  onStatus?: (status: ClientStatus, detail: { nodeUrl?: string; attempt: number }) => void;
  /** The server cannot replay what was missed on `topic` (history no longer covers the last id): reload it. */
  onResync?: (topic: string) => void;
  /** Default: the global EventSource (browsers; in Node pass one, e.g. from the `eventsource` package). */
  createEventSource?: (url: string) => EventSourceLike;
  random?: () => number;
  now?: () => number;
  setTimeout?: (fn: () => void, ms: number) => unknown;
  clearTimeout?: (handle: unknown) => void;
  /** Reconnect when nothing (not even a heartbeat) arrived for this long. */
  silenceTimeoutMs?: number;
  backoffBaseMs?: number;
  backoffMaxMs?: number;
  /** Close the stream after the page has been hidden this long; reopen when it is visible again. */
  hiddenCloseMs?: number;
  visibility?: VisibilitySource;
  /** Report a sample of receive latencies to the node's POST /latency (default on, where fetch exists). */
  reportLatency?: boolean;
  latencyReportIntervalMs?: number;
  /** Listen without counting as a viewer (the broadcaster's studio): `observer=1` on /connect. */
  observer?: boolean;
  /** The node to try first (one of `urls`); later attempts pick at random as usual. */
  preferredUrl?: string;
  fetch?: FetchLike;
  /**
   * Renewed in the background RENEW_BEFORE_MS before it expires, before an attempt when it is due,
   * at once when a node answers 401, and after attempts that failed before the stream opened (a
   * browser's EventSource hides the status, so a refused token looks like any failed attempt).
   */
  token?: TokenSource;
  /**
   * Resume points to start from, topic → last event id seen (e.g. handed over by another tab's
   * connection, see SharedRealtimeConnection): the first connect asks the node to replay after them.
   */
  lastEventIds?: Readonly<Record<string, string>>;
}

/** The event types of Ovation's own topics: what the client listens to unless told otherwise. */
export const OVATION_EVENT_TYPES: readonly (keyof OvationEvents)[] = [
  'snapshot',
  'like',
  'comment',
  'comment_deleted',
  'viewers',
  'status',
  'stream',
  'presence',
];

/** The delay before attempt `attempt` (1-based): full jitter over an exponential cap. */
export function backoffDelay(attempt: number, baseMs: number, maxMs: number, random: () => number): number {
  const cap = Math.min(maxMs, baseMs * 2 ** Math.max(0, attempt - 1));
  return Math.floor(random() * cap);
}

/** A token expiring within this long is renewed (in the background, or before the next attempt). */
export const RENEW_BEFORE_MS = 5 * 60_000;
/** Attempts failing in a row before the stream opened, after which the token is renewed. */
const FAILURES_BEFORE_RENEWAL = 2;
const CONTROL_TYPES: readonly string[] = ['connected', 'heartbeat', 'reconnect', 'resync'];
const MAX_LATENCY_SAMPLES = 100;
/** setTimeout's longest delay (a 32-bit signed ms count); longer ones fire at once. */
const MAX_TIMER_MS = 2 ** 31 - 1;

type Handler<M extends EventMap> = (event: TypedEvent<M>) => void;

type Defaults = 'createEventSource' | 'random' | 'now' | 'setTimeout' | 'clearTimeout' | 'silenceTimeoutMs';
type Tuning = 'backoffBaseMs' | 'backoffMaxMs' | 'hiddenCloseMs' | 'reportLatency' | 'latencyReportIntervalMs';
type Resolved<M extends EventMap> = Required<Pick<RealtimeClientOptions<M>, Defaults | Tuning | 'observer'>> &
  Omit<RealtimeClientOptions<M>, Defaults | Tuning | 'observer'>;

export class RealtimeClient<M extends EventMap = OvationEvents> {
  private source: EventSourceLike | undefined;
  private nodeUrl: string | undefined;
  private connectionId: string | undefined;
  private topicList: string[];
  /** Each topic's last event id: the resume points sent on the next connect. */
  private readonly lastIds = new Map<string, string>();
  private latestId: string | undefined;
  private readonly handlers = new Map<string, Set<Handler<M>>>();
  /** Types the current stream has a listener for. */
  private listening = new Set<string>();
  private attempt = 0;
  private status: ClientStatus = 'closed';
  private watchdog: unknown;
  private retryTimer: unknown;
  private switchTimer: unknown;
  private hiddenTimer: unknown;
  private reportTimer: unknown;
  private renewTimer: unknown;
  private stopVisibility: (() => void) | undefined;
  private samples: number[] = [];
  private token: ConnectToken | undefined;
  /** Attempts in a row that failed before their stream opened. */
  private failedBeforeOpen = 0;
  /** Bumped by every open and teardown: a renewal that returns after either is dropped. */
  private generation = 0;
  private readonly o: Resolved<M>;

  constructor(options: RealtimeClientOptions<M>) {
    if (options.urls.length === 0) throw new Error('RealtimeClient needs at least one realtime URL');
    this.o = {
      createEventSource: options.createEventSource ?? globalEventSource(),
      random: Math.random,
      now: () => Date.now(),
      setTimeout: (fn, ms) => globalThis.setTimeout(fn, ms),
      clearTimeout: (handle) => globalThis.clearTimeout(handle as ReturnType<typeof setTimeout>),
      silenceTimeoutMs: 40_000,
      backoffBaseMs: 500,
      backoffMaxMs: 30_000,
      hiddenCloseMs: 60_000,
      reportLatency: true,
      latencyReportIntervalMs: 5_000,
      observer: false,
      ...options,
      fetch: options.fetch ?? (typeof fetch === 'function' ? (url, init) => fetch(url, init) : undefined),
    };
    this.topicList = [...new Set(options.topics ?? [])];
    this.token = options.token?.current;
    for (const [topic, id] of Object.entries(options.lastEventIds ?? {})) {
      if (this.topicList.includes(topic)) this.lastIds.set(topic, id);
    }
  }

  /** Each topic's last event id: what the next connect resumes from. */
  get resumePoints(): Record<string, string> {
    return Object.fromEntries(this.lastIds);
  }

  get currentNode(): string | undefined {
    return this.nodeUrl;
  }

  /** The last event id received, on any topic. */
  get lastId(): string | undefined {
    return this.latestId;
  }

  get topics(): readonly string[] {
    return this.topicList;
  }

  get state(): ClientStatus {
    return this.status;
  }

  start(): void {
    if (this.status !== 'closed') return;
    if (this.o.visibility && !this.stopVisibility) {
      this.stopVisibility = this.o.visibility.onChange(() => this.onVisibilityChange());
    }
    this.open();
    this.scheduleReport();
    this.scheduleRenewal();
  }

  stop(): void {
    this.teardown();
    this.o.clearTimeout(this.retryTimer);
    this.o.clearTimeout(this.switchTimer);
    this.switchTimer = undefined;
    this.o.clearTimeout(this.hiddenTimer);
    this.o.clearTimeout(this.reportTimer);
    this.o.clearTimeout(this.renewTimer);
    this.stopVisibility?.();
    this.stopVisibility = undefined;
    this.setStatus('closed');
  }

  /**
   * Calls `handler` with each event of `type`, its `data` typed by the client's event map.
   * Returns the function that stops it.
   */
  on<K extends keyof M & string>(type: K, handler: (event: TypedEvent<M, K>) => void): () => void {
    const set = this.handlers.get(type) ?? new Set<Handler<M>>();
    // TypedEvent<M, K> is one member of TypedEvent<M>; the dispatch below only hands it its own type.
    const stored = handler as unknown as Handler<M>;
    set.add(stored);
    this.handlers.set(type, set);
    if (this.source) this.listen(this.source, type);
    return () => {
      set.delete(stored);
    };
  }

  /**
   * Adds topics to the stream: on an open connection with POST /subscribe (the node sends each new
   * topic's snapshot), otherwise on the next connect. If the node refuses or cannot be reached,
   * the stream is reopened with every topic, so the client never believes in topics it lacks.
   */
  async subscribe(topics: readonly string[]): Promise<void> {
    const added = topics.filter((t) => !this.topicList.includes(t));
    if (added.length === 0) return;
    this.topicList = [...this.topicList, ...new Set(added)];
    if (!this.running()) return;
    // A stream still opening was asked for the old topics: ask again (a wait between attempts, or
    // a renewal under way, reads the list when it opens).
    if (this.connectionId === undefined) {
      if (this.source) this.open();
      return;
    }
    if (!(await this.post('/subscribe', added)) && this.running()) {
      this.o.clearTimeout(this.switchTimer);
      this.switchTimer = undefined;
      this.open();
    }
  }

  /** Removes topics (and their resume points); the node is told when a connection is open. */
  async unsubscribe(topics: readonly string[]): Promise<void> {
    const removed = topics.filter((t) => this.topicList.includes(t));
    if (removed.length === 0) return;
    this.topicList = this.topicList.filter((t) => !removed.includes(t));
    for (const topic of removed) this.lastIds.delete(topic);
    // Best effort: events of a removed topic that still arrive are dropped below.
    await this.post('/unsubscribe', removed);
  }

  /** The delay before reconnect attempt `attempt` (1-based): full jitter over an exponential cap. */
  backoffDelay(attempt: number): number {
    return backoffDelay(attempt, this.o.backoffBaseMs, this.o.backoffMaxMs, this.o.random);
  }

  /** Started and not paused: a stream is open or on its way. */
  private running(): boolean {
    return this.status !== 'closed' && this.status !== 'paused';
  }

  /** POSTs `{ connectionId, topics }` to the current node; false when it was not accepted. */
  private async post(path: '/subscribe' | '/unsubscribe', topics: readonly string[]): Promise<boolean> {
    const { nodeUrl, connectionId } = this;
    if (!this.o.fetch || !nodeUrl || !connectionId) return false;
    try {
      const response = await this.o.fetch(`${nodeUrl}${path}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ connectionId, topics }),
      });
      return response.ok;
    } catch {
      return false;
    }
  }

  /** Opens a stream, first renewing the token when it is due (see `token`). */
  private open(): void {
    this.teardown();
    const renewal = this.o.token;
    const due =
      renewal !== undefined &&
      (this.token === undefined ||
        this.token.expiresAt - this.o.now() < RENEW_BEFORE_MS ||
        this.failedBeforeOpen >= FAILURES_BEFORE_RENEWAL);
    if (!due) {
      this.openStream();
      return;
    }
    this.setStatus(this.attempt === 0 ? 'connecting' : 'reconnecting');
    const generation = this.generation;
    renewal.renew().then(
      (token) => {
        if (generation !== this.generation || this.status === 'closed') return;
        this.useToken(token);
        this.failedBeforeOpen = 0;
        this.openStream();
      },
      () => {
        // The web tier could not say: try again later, as after any failed attempt.
        if (generation === this.generation && this.status !== 'closed') this.retry();
      },
    );
  }

  private openStream(): void {
    this.nodeUrl = this.pickNode();
    const params = new URLSearchParams({ topics: this.topicList.join(',') });
    const resume = this.topicList.flatMap((t) => this.lastIds.get(t) ?? []);
    if (resume.length > 0) params.set('lastEventId', resume.join(','));
    if (this.o.observer) params.set('observer', '1');
    if (this.token) params.set('token', this.token.token);
    this.setStatus(this.attempt === 0 ? 'connecting' : 'reconnecting');
    const source = this.o.createEventSource(`${this.nodeUrl}/connect?${params.toString()}`);
    /** `connected` came: the stream is open. */
    let opened = false;
    /** The node answered (a stream, even one that only sends the client elsewhere): the token was not refused. */
    let answered = false;
    this.source = source;
    this.listening = new Set();
    source.onerror = (event: unknown) => {
      if (this.source !== source) return;
      // Where the status shows (Node's `eventsource` sets `code`), a 401 renews at once.
      if (!opened && errorStatus(event) === 401) this.failedBeforeOpen = FAILURES_BEFORE_RENEWAL;
      else if (!opened && !answered) this.failedBeforeOpen++;
      // Told to move already: the node ending the stream is expected; the switch is scheduled.
      if (this.switchTimer !== undefined) this.teardown();
      else this.retry();
    };
    source.addEventListener('connected', (event) => {
      if (this.source !== source) return;
      const connected = asConnected(controlPayload(event.data));
      if (!connected) return;
      opened = true;
      this.failedBeforeOpen = 0;
      this.attempt = 0;
      this.connectionId = connected.connectionId;
      this.setStatus('open');
      this.feedWatchdog();
    });
    source.addEventListener('heartbeat', (event) => {
      if (this.source === source && controlPayload(event.data)) this.feedWatchdog();
    });
    source.addEventListener('reconnect', (event) => {
      if (this.source !== source) return;
      const told = asReconnect(controlPayload(event.data));
      if (!told) return;
      answered = true;
      // Sent away before the stream opened (the node is full or draining, or cannot set the topics
      // up): back off as after a failure, or every client would go round the nodes at once.
      const afterMs = opened ? told.afterMs : Math.max(told.afterMs, this.backoffDelay(++this.attempt));
      // The node is draining: keep reading it until our turn, then move (the node spreads turns
      // so that its viewers do not all land on the other nodes at once).
      this.o.clearTimeout(this.watchdog);
      this.o.clearTimeout(this.switchTimer);
      this.switchTimer = this.o.setTimeout(() => {
        this.switchTimer = undefined;
        this.open();
      }, afterMs);
    });
    source.addEventListener('resync', (event) => {
      if (this.source !== source) return;
      const resync = asResync(controlPayload(event.data));
      if (!resync) return;
      this.lastIds.delete(resync.topic);
      if (this.latestId !== undefined && ![...this.lastIds.values()].includes(this.latestId)) {
        this.latestId = undefined;
      }
      this.o.onResync?.(resync.topic);
    });
    for (const type of this.o.eventTypes ?? OVATION_EVENT_TYPES) this.listen(source, type);
    for (const type of this.handlers.keys()) this.listen(source, type);
    this.feedWatchdog();
  }

  private listen(source: EventSourceLike, type: string): void {
    if (CONTROL_TYPES.includes(type) || this.listening.has(type)) return;
    this.listening.add(type);
    source.addEventListener(type, (event) => {
      if (this.source !== source) return;
      this.feedWatchdog();
      const envelope = asEnvelope(event.data, type);
      if (!envelope || !this.topicList.includes(envelope.topic)) return;
      this.lastIds.set(envelope.topic, envelope.id);
      this.latestId = envelope.id;
      this.sample(envelope.ts, envelope.replayed === true || type === 'snapshot');
      // The envelope's type is the listened type, so it is the map member of that name.
      const typed = envelope as unknown as TypedEvent<M>;
      this.o.onEvent?.(typed);
      for (const handler of this.handlers.get(type) ?? []) handler(typed);
    });
  }

  /** A random node, avoiding the one that just failed when there is another. */
  private pickNode(): string {
    const urls = this.o.urls;
    const preferred = this.o.preferredUrl;
    if (this.nodeUrl === undefined && preferred !== undefined && urls.includes(preferred)) return preferred;
    const candidates = urls.length > 1 && this.nodeUrl ? urls.filter((u) => u !== this.nodeUrl) : urls;
    const index = Math.min(candidates.length - 1, Math.floor(this.o.random() * candidates.length));
    return (candidates[index] ?? urls[0]) as string;
  }

  private retry(): void {
    this.teardown();
    this.attempt++;
    this.setStatus('reconnecting');
    this.retryTimer = this.o.setTimeout(() => this.open(), this.backoffDelay(this.attempt));
  }

  private feedWatchdog(): void {
    this.o.clearTimeout(this.watchdog);
    if (this.switchTimer !== undefined) return;
    this.watchdog = this.o.setTimeout(() => this.retry(), this.o.silenceTimeoutMs);
  }

  private teardown(): void {
    this.generation++;
    this.o.clearTimeout(this.watchdog);
    this.o.clearTimeout(this.retryTimer);
    if (this.source) {
      this.source.onerror = null;
      this.source.close();
      this.source = undefined;
    }
    this.connectionId = undefined;
  }

  private useToken(token: ConnectToken): void {
    this.token = token;
    this.scheduleRenewal();
  }

  /**
   * Renews the token RENEW_BEFORE_MS before it expires while the client runs, so that a move to
   * another node (a drain, a failure) finds a valid token at once instead of waiting on the web
   * tier. An open stream does not need it: a token is checked only when a stream opens.
   */
  private scheduleRenewal(retryInMs?: number): void {
    this.o.clearTimeout(this.renewTimer);
    const renewal = this.o.token;
    if (!renewal || !this.token || this.status === 'closed') return;
    const wait = retryInMs ?? this.token.expiresAt - RENEW_BEFORE_MS - this.o.now();
    // Due already: the next attempt renews before it opens.
    if (wait <= 0) return;
    this.renewTimer = this.o.setTimeout(
      () => {
        renewal.renew().then(
          (token) => {
            if (this.status !== 'closed') this.useToken(token);
          },
          () => this.scheduleRenewal(this.o.backoffMaxMs),
        );
      },
      Math.min(MAX_TIMER_MS, wait),
    );
  }

  private onVisibilityChange(): void {
    const visibility = this.o.visibility;
    if (!visibility || this.status === 'closed') return;
    if (visibility.isHidden()) {
      this.o.clearTimeout(this.hiddenTimer);
      this.hiddenTimer = this.o.setTimeout(() => {
        this.teardown();
        this.setStatus('paused');
      }, this.o.hiddenCloseMs);
    } else {
      this.o.clearTimeout(this.hiddenTimer);
      if (this.status === 'paused') {
        this.attempt = 0;
        this.open();
      }
    }
  }

  /** Latency is reported by counted viewers only (a node refuses an observer's report). */
  private get reportsLatency(): boolean {
    return this.o.reportLatency && !this.o.observer;
  }

  private sample(ts: number, late: boolean): void {
    // A replayed event or a snapshot says nothing about how fast live delivery is.
    if (!this.reportsLatency || late || this.samples.length >= MAX_LATENCY_SAMPLES) return;
    this.samples.push(Math.min(60_000, Math.max(0, this.o.now() - ts)));
  }

  private scheduleReport(): void {
    if (!this.reportsLatency || !this.o.fetch) return;
    this.reportTimer = this.o.setTimeout(() => {
      this.flushLatency();
      this.scheduleReport();
    }, this.o.latencyReportIntervalMs);
  }

  private flushLatency(): void {
    const topic = this.topicList[0];
    if (!this.o.fetch || !this.nodeUrl || !this.connectionId || !topic || this.samples.length === 0) return;
    const body = JSON.stringify({ connectionId: this.connectionId, topic, samples: this.samples });
    this.samples = [];
    this.o
      .fetch(`${this.nodeUrl}/latency`, { method: 'POST', headers: { 'content-type': 'application/json' }, body })
      .catch(() => {});
  }

  private setStatus(status: ClientStatus): void {
    this.status = status;
    this.o.onStatus?.(status, { ...(this.nodeUrl ? { nodeUrl: this.nodeUrl } : {}), attempt: this.attempt });
  }
}

/** The global EventSource (browsers); said at construction, not at the first connect, when there is none. */
function globalEventSource(): (url: string) => EventSourceLike {
  const EventSourceClass = (globalThis as { EventSource?: new (url: string) => EventSourceLike }).EventSource;
  if (!EventSourceClass) {
    throw new Error('no global EventSource: pass createEventSource (in Node, e.g. the `eventsource` package)');
  }
  return (url) => new EventSourceClass(url);
}

/** The HTTP status of a failed connect, where the EventSource tells it (browsers do not). */
function errorStatus(event: unknown): number | undefined {
  const code = typeof event === 'object' && event !== null ? (event as { code?: unknown }).code : undefined;
  return typeof code === 'number' ? code : undefined;
}
