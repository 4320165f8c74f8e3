import type { ClientStatus, RealtimeClientOptions } from './realtime-client.js';
import {
  type LockManagerLike,
  SharedHub,
  TAB_HEARTBEAT_MS,
  type TopicsTokenSource,
  tabLockName,
  WORKER_HEARTBEAT_MS,
  watchTabs,
} from './shared-hub.js';
import {
  asHubMessage,
  asLastIds,
  asTabMessage,
  type HubMessage,
  type RefusedReason,
  SHARED_PROTOCOL_VERSION,
  type TabMessage,
  versionedName,
} from './shared-protocol.js';
import { tokenForTopics } from './token.js';
import { foldTopicState, snapshotEvent, type TopicState } from './topic-state.js';
import type { EventEnvelope, UntypedEvents } from './wire.js';

/*
 * One SSE connection per origin, whatever the number of tabs (HTTP/1.1 allows six connections
 * per origin: a seventh tab with its own stream would wait forever). Who holds it:
 *
 *   SharedWorker (where the browser has one):
 *     tab ─port─▶ worker: SharedHub ─▶ node          the worker lives while any tab is open
 *
 *   otherwise, Web Locks + BroadcastChannel:
 *     tab A  holds lock `<name>` ─▶ SharedHub ─▶ node
 *       │ ▲   BroadcastChannel `<name>`: wants ─▶ A, events/status/resync ─▶ every tab
 *     tab B, C … wait on the lock; each keeps every topic's last event id
 *
 *   the worker dies (crashed, killed: no `beat` for three WORKER_HEARTBEAT_MS) → each tab reports
 *   `reconnecting` and joins the Web Locks path (or, without it, holds a stream of its own),
 *   resuming every topic from its last ids.
 *
 *   A closes → the browser releases its lock → B's request is granted → B starts a hub from the
 *   last ids it saw, announces `leader`, every tab says again what it wants, and the new stream
 *   resumes with lastEventId (the node replays the gap, or sends `resync`). Events seen twice
 *   across the handover are dropped per tab by type and id.
 */

export interface ChannelLike {
  postMessage(message: unknown): void;
  // `never`: the connection only sets it, so the DOM's MessageEvent handlers fit.
  onmessage: ((event: never) => void) | null;
  close(): void;
}

export interface PortLike {
  postMessage(message: unknown): void;
  // `never`: the connection only sets it, so the DOM's MessageEvent handlers fit.
  onmessage: ((event: never) => void) | null;
  start?(): void;
}

export interface SharedWorkerLike {
  port: PortLike;
  onerror: ((event: never) => void) | null;
}

export interface SharedConnectionOptions {
  /** The realtime nodes (the web tier's `realtimeUrls`). */
  urls: readonly string[];
  /** A token for a set of topics; default: the page's web tier (GET /api/realtime-token). */
  token?: TopicsTokenSource | undefined;
  /** Listen without counting as a viewer: a connection of its own (another name). */
  observer?: boolean | undefined;
  preferredUrl?: string | undefined;
  reportLatency?: boolean | undefined;
  /** The lock and channel name; default `ovation-realtime:<origin>` (`:observer` for observers). */
  name?: string | undefined;
  /**
   * Makes the SharedWorker that holds the connection; default: the package's worker where the
   * browser has SharedWorker. `null`: never a worker (Web Locks and BroadcastChannel).
   */
  worker?: (() => SharedWorkerLike) | null | undefined;
  /** Default: navigator.locks. */
  locks?: LockManagerLike | undefined;
  /** Default: the global BroadcastChannel. */
  createChannel?: ((name: string) => ChannelLike) | undefined;
  /** Where the page says it is leaving (default: window's pagehide / pageshow). */
  lifecycle?: { onLeave(listener: () => void): void; onReturn(listener: () => void): void } | undefined;
  /** The hub's client, when this tab holds the connection (timers, an EventSource). */
  client?: Partial<RealtimeClientOptions<UntypedEvents>> | undefined;
  tabId?: string | undefined;
}

export interface SharedSubscriber {
  onEvent: (event: EventEnvelope) => void;
  onStatus?: ((status: ClientStatus, node: string | undefined) => void) | undefined;
  onResync?: ((topic: string) => void) | undefined;
  /**
   * The shared connection will not carry `topic`: malformed (`invalid`), one too many for one
   * connection (`too_many`), or not granted by the token's issuer (`not_granted`, e.g. a deleted
   * video). The subscription's other topics carry on.
   */
  onRefused?: ((topic: string, reason: RefusedReason) => void) | undefined;
}

/** Ids remembered per topic to drop an event delivered again across a handover. */
const SEEN_PER_TOPIC = 512;

interface Subscription {
  topics: ReadonlySet<string>;
  types: readonly string[];
  subscriber: SharedSubscriber;
}

export class SharedRealtimeConnection {
  readonly tabId: string;
  readonly name: string;
  private readonly subscriptions = new Set<Subscription>();
  /** Who the page says the viewer is (identify). */
  private identity: string | undefined;
  private readonly lastIds = new Map<string, string>();
  private readonly seen = new Map<string, Set<string>>();
  /** The state of each topic this tab follows (see topic-state.ts): for its subscribers that join late. */
  private readonly states = new Map<string, TopicState>();
  /** The topics the hub refuses, as it last said. */
  private refused = new Map<string, RefusedReason>();
  private status: { status: ClientStatus; node?: string | undefined } = { status: 'connecting' };
  private hub: SharedHub | undefined;
  private channel: ChannelLike | undefined;
  private port: PortLike | undefined;
  private releaseLock: (() => void) | undefined;
  private abortWait: AbortController | undefined;
  /** This tab's own lock, held while it is joined: whoever holds the hub learns it is gone. */
  private alive: { held: boolean; release?: () => void; abort: AbortController } | undefined;
  /** Stops the hub's watches on the other tabs' locks (this tab gave the hub up). */
  private abortWatches: AbortController | undefined;
  private joined = false;
  private heartbeatTimer: unknown;
  /** Checks that the worker is heard from (see WORKER_HEARTBEAT_MS), and when it last was. */
  private watchdogTimer: unknown;
  private heardFromWorker = 0;
  /** `own`: neither a worker nor Web Locks and BroadcastChannel (the worker died): a stream of its own. */
  private mode: 'worker' | 'locks' | 'own';
  /** The worker answered once: it runs (an error after that is not a failed start). */
  private workerAnswered = false;

  constructor(private readonly o: SharedConnectionOptions) {
    this.tabId = o.tabId ?? randomId();
    this.name = o.name ?? defaultName(o.observer === true);
    this.mode = this.workerFactory() ? 'worker' : 'locks';
    this.join();
    const lifecycle = o.lifecycle ?? windowLifecycle();
    lifecycle?.onLeave(() => this.leave());
    lifecycle?.onReturn(() => this.join());
  }

  /** True while this tab holds the connection (Web Locks path). */
  get isLeader(): boolean {
    return this.hub !== undefined;
  }

  get transport(): 'worker' | 'locks' | 'own' {
    return this.mode;
  }

  get state(): { status: ClientStatus; node?: string | undefined } {
    return this.status;
  }

  /**
   * Receives the events of `topics` (of `types`; default Ovation's) from the shared connection.
   * Returns the function that stops it.
   */
  subscribe(topics: readonly string[], subscriber: SharedSubscriber, types: readonly string[] = []): () => void {
    const subscription: Subscription = { topics: new Set(topics), types, subscriber };
    const followed = this.followedTopics();
    this.subscriptions.add(subscription);
    subscriber.onStatus?.(this.status.status, this.status.node);
    for (const topic of subscription.topics) {
      const reason = this.refused.get(topic);
      if (reason) subscriber.onRefused?.(topic, reason);
      // A topic this tab follows already: its state from here (the hub hands over only topics
      // new to the tab).
      const id = this.lastIds.get(topic);
      const state =
        followed.has(topic) && id !== undefined
          ? snapshotEvent(topic, id, this.states.get(topic), this.now())
          : undefined;
      if (state && wants(subscription, state)) subscriber.onEvent(state);
    }
    this.sendWant();
    return () => {
      if (!this.subscriptions.delete(subscription)) return;
      const still = this.followedTopics();
      for (const topic of subscription.topics) if (!still.has(topic)) this.states.delete(topic);
      this.sendWant();
    };
  }

  /**
   * Who the page says the viewer is, once it knows (a user id, or `guest`): a viewer the stream
   * was not opened for (a guest who signed in) gets it opened again with a token that names them.
   */
  identify(identity: string | undefined): void {
    if (identity === undefined || identity === this.identity) return;
    this.identity = identity;
    this.sendWant();
  }

  /** Leaves for good (tests; a page leaves by itself). */
  close(): void {
    this.leave();
  }

  private workerFactory(): (() => SharedWorkerLike) | undefined {
    if (this.o.worker === null) return undefined;
    if (this.o.worker) return this.o.worker;
    return defaultWorker();
  }

  private join(): void {
    if (this.joined) return;
    this.joined = true;
    this.holdAliveLock();
    const factory = this.mode === 'worker' ? this.workerFactory() : undefined;
    if (factory) {
      const worker = factory();
      const port = worker.port;
      this.port = port;
      this.heardFromWorker = this.now();
      port.onmessage = (event: { data: unknown }) => {
        if (this.port !== port) return;
        this.workerAnswered = true;
        this.heardFromWorker = this.now();
        const message = asHubMessage(event.data);
        if (message) this.receive(message);
      };
      // A worker script that cannot load (blocked, not bundled): Web Locks instead.
      worker.onerror = () => {
        if (this.workerAnswered || !this.joined || this.mode !== 'worker') return;
        this.leave();
        this.mode = this.fallbackMode();
        this.join();
      };
      port.start?.();
      this.heartbeat();
      this.watchWorker();
    } else if (this.mode === 'own') {
      this.lead();
    } else {
      const createChannel = this.o.createChannel ?? globalChannel;
      this.channel = createChannel(versionedName(this.name));
      this.channel.onmessage = (event: { data: unknown }) => this.onChannel(event.data);
      this.waitForLock();
    }
    this.sendWant();
  }

  /**
   * On a SharedWorker: says again what it wants every TAB_HEARTBEAT_MS, so that a worker without
   * Web Locks (it cannot watch the tab's lock) learns the tab is gone when it falls silent.
   */
  private heartbeat(): void {
    this.heartbeatTimer = this.setTimer(() => {
      if (!this.joined || !this.port) return;
      this.sendWant();
      this.heartbeat();
    }, TAB_HEARTBEAT_MS);
  }

  /**
   * On a SharedWorker: the worker beats every WORKER_HEARTBEAT_MS (and answers every `want`). Heard
   * from for none of three, it is dead (crashed, killed by the browser) — its tabs would show
   * `open` and receive nothing for ever: this tab says `reconnecting` and holds the stream itself
   * (Web Locks and BroadcastChannel, else a stream of its own), resuming from its last ids.
   */
  private watchWorker(): void {
    this.watchdogTimer = this.setTimer(() => {
      this.watchdogTimer = undefined;
      if (!this.joined || this.mode !== 'worker' || !this.port) return;
      if (this.now() - this.heardFromWorker < 3 * WORKER_HEARTBEAT_MS) {
        this.watchWorker();
        return;
      }
      this.leave();
      this.mode = this.fallbackMode();
      this.setStatus('reconnecting', this.status.node);
      this.join();
    }, WORKER_HEARTBEAT_MS);
  }

  /** Where a tab goes without its SharedWorker. */
  private fallbackMode(): 'locks' | 'own' {
    const channels = this.o.createChannel !== undefined || hasBroadcastChannel();
    return (this.o.locks ?? globalLocks()) && channels ? 'locks' : 'own';
  }

  private setStatus(status: ClientStatus, node: string | undefined): void {
    this.status = { status, node };
    for (const { subscriber } of this.subscriptions) subscriber.onStatus?.(status, node);
  }

  private now(): number {
    return (this.o.client?.now ?? Date.now)();
  }

  /** The client's timer when given (tests), else the global one, unref'd where it can be. */
  private setTimer(fn: () => void, ms: number): unknown {
    if (this.o.client?.setTimeout) return this.o.client.setTimeout(fn, ms);
    const timer = globalThis.setTimeout(fn, ms) as { unref?: () => void };
    timer.unref?.();
    return timer;
  }

  private clearTimer(handle: unknown): void {
    if (handle === undefined) return;
    const clearTimer =
      this.o.client?.clearTimeout ??
      ((timer: unknown) => globalThis.clearTimeout(timer as ReturnType<typeof setTimeout>));
    clearTimer(handle);
  }

  private leave(): void {
    if (!this.joined) return;
    this.clearTimer(this.heartbeatTimer);
    this.heartbeatTimer = undefined;
    this.clearTimer(this.watchdogTimer);
    this.watchdogTimer = undefined;
    this.post({ v: SHARED_PROTOCOL_VERSION, t: 'bye', tab: this.tabId });
    this.joined = false;
    // What happens while away is not heard: the state is told again after the return.
    this.states.clear();
    this.hub?.stop();
    this.hub = undefined;
    this.abortWatches?.abort();
    this.alive?.abort.abort();
    this.alive?.release?.();
    this.alive = undefined;
    this.abortWait?.abort();
    this.releaseLock?.();
    this.releaseLock = undefined;
    this.channel?.close();
    this.channel = undefined;
    if (this.port) this.port.onmessage = null;
    this.port = undefined;
  }

  /**
   * Takes the lock `<name>:tab:<id>` and says what it wants only once it holds it: a hub watching
   * that lock (see watchTabs) is then granted it exactly when this tab is gone — closed, crashed
   * or discarded without a `bye` — and drops its topics.
   */
  private holdAliveLock(): void {
    const locks = this.o.locks ?? globalLocks();
    const abort = new AbortController();
    const alive: NonNullable<typeof this.alive> = { held: locks === undefined, abort };
    this.alive = alive;
    if (!locks) return;
    locks
      .request(tabLockName(this.name, this.tabId), { signal: abort.signal }, () => {
        if (abort.signal.aborted || this.alive !== alive) return Promise.resolve();
        return new Promise<void>((resolve) => {
          alive.held = true;
          alive.release = resolve;
          this.sendWant();
        });
      })
      .catch(() => {
        // Aborted: the tab left first.
      });
  }

  /** Queues for the lock; when granted, this tab holds the connection until it leaves. */
  private waitForLock(): void {
    const locks = this.o.locks ?? globalLocks();
    if (!locks) throw new Error('SharedRealtimeConnection needs SharedWorker or navigator.locks');
    const abort = new AbortController();
    this.abortWait = abort;
    locks
      .request(versionedName(this.name), { signal: abort.signal }, () => {
        if (abort.signal.aborted || !this.joined) return Promise.resolve();
        return new Promise<void>((resolve) => {
          this.releaseLock = resolve;
          this.lead();
        });
      })
      .catch(() => {
        // Aborted: the tab left while it waited.
      });
  }

  private lead(): void {
    const channel = this.channel;
    const locks = this.o.locks ?? globalLocks();
    const abort = new AbortController();
    this.abortWatches = abort;
    const watch = locks ? watchTabs(locks, this.name, abort.signal) : undefined;
    this.hub = new SharedHub({
      watch: (tab, gone) => {
        if (tab !== this.tabId) watch?.(tab, gone);
      },
      urls: this.o.urls,
      token: this.o.token ?? tokenForTopics(),
      observer: this.o.observer,
      preferredUrl: this.o.preferredUrl,
      reportLatency: this.o.reportLatency,
      lastIds: Object.fromEntries(this.lastIds),
      // Where the previous hub's stream was (its last status): the resume points are that region's.
      lastNode: this.status.node,
      client: this.o.client,
      send: (message) => {
        channel?.postMessage(message);
        this.receive(message);
      },
    });
    this.hub.want(this.want());
    // Every other tab says again what it wants (the old hub's list went with it), and is answered
    // with the hub's resume points.
    channel?.postMessage({ v: SHARED_PROTOCOL_VERSION, t: 'leader', leader: this.tabId } satisfies HubMessage);
  }

  /** A message from another tab: checked, and dropped unless it is one of this version's. */
  private onChannel(data: unknown): void {
    const tabMessage = asTabMessage(data);
    if (tabMessage) {
      if (tabMessage.t === 'want') this.hub?.want(tabMessage);
      else this.hub?.bye(tabMessage.tab);
      return;
    }
    const hubMessage = asHubMessage(data);
    if (hubMessage) this.receive(hubMessage);
  }

  private receive(message: HubMessage): void {
    switch (message.t) {
      case 'leader':
        this.sendWant();
        break;
      case 'status':
        this.setStatus(message.status, message.node);
        break;
      case 'beat':
        break;
      case 'resync':
        this.lastIds.delete(message.topic);
        this.states.delete(message.topic);
        for (const { topics, subscriber } of this.subscriptions) {
          if (topics.has(message.topic)) subscriber.onResync?.(message.topic);
        }
        break;
      case 'event':
        this.deliver(message.event);
        break;
      case 'state': {
        // Not an event of the stream (its id is one this tab may have seen): not deduplicated. What
        // the subscribers get is rebuilt from the checked fold, not the message's own data.
        const { event } = message;
        if (message.tab !== this.tabId || !this.follows(event.topic)) break;
        const state = foldTopicState(this.states.get(event.topic), event);
        const snapshot = snapshotEvent(event.topic, event.id, state, event.ts);
        if (!state || !snapshot) break;
        this.states.set(event.topic, state);
        for (const subscription of this.subscriptions) {
          if (subscription.topics.has(event.topic) && wants(subscription, snapshot)) {
            subscription.subscriber.onEvent(snapshot);
          }
        }
        break;
      }
      case 'points':
        // The hub saw every event any tab saw: its points are the newest this tab can know.
        for (const [topic, id] of Object.entries(asLastIds(message.lastIds) ?? {})) this.lastIds.set(topic, id);
        break;
      case 'refused': {
        const before = this.refused;
        this.refused = new Map(Object.entries(message.topics));
        for (const [topic, reason] of this.refused) {
          this.states.delete(topic);
          if (before.get(topic) === reason) continue;
          for (const { topics, subscriber } of this.subscriptions) {
            if (topics.has(topic)) subscriber.onRefused?.(topic, reason);
          }
        }
        break;
      }
    }
  }

  private deliver(event: EventEnvelope): void {
    const seen = this.seen.get(event.topic) ?? new Set<string>();
    this.seen.set(event.topic, seen);
    // By type and id: a node's gap repair sends a `like` and a `snapshot` under one id.
    const key = `${event.type}:${event.id}`;
    if (seen.has(key)) return;
    seen.add(key);
    if (seen.size > SEEN_PER_TOPIC) seen.delete(seen.values().next().value as string);
    this.lastIds.set(event.topic, event.id);
    // Only the topics this tab follows (a leader's channel carries every tab's); folded before the
    // subscribers run, so one subscribing from its handler gets the state with this event in it.
    if (!this.follows(event.topic)) return;
    const state = foldTopicState(this.states.get(event.topic), event);
    if (state) this.states.set(event.topic, state);
    for (const subscription of this.subscriptions) {
      if (subscription.topics.has(event.topic) && wants(subscription, event)) subscription.subscriber.onEvent(event);
    }
  }

  /** Whether one of this tab's subscriptions wants `topic`. */
  private follows(topic: string): boolean {
    for (const subscription of this.subscriptions) if (subscription.topics.has(topic)) return true;
    return false;
  }

  /** The topics this tab's subscriptions want. */
  private followedTopics(): Set<string> {
    const topics = new Set<string>();
    for (const subscription of this.subscriptions) for (const topic of subscription.topics) topics.add(topic);
    return topics;
  }

  private want(): Extract<TabMessage, { t: 'want' }> {
    const topics = this.followedTopics();
    const types = new Set<string>();
    for (const subscription of this.subscriptions) for (const type of subscription.types) types.add(type);
    return {
      v: SHARED_PROTOCOL_VERSION,
      t: 'want',
      tab: this.tabId,
      topics: [...topics],
      types: [...types],
      lastIds: Object.fromEntries([...this.lastIds].filter(([topic]) => topics.has(topic))),
      ...(this.identity === undefined ? {} : { identity: this.identity }),
    };
  }

  private sendWant(): void {
    if (!this.joined || !this.alive?.held) return;
    const want = this.want();
    if (this.port) {
      want.config = {
        name: this.name,
        urls: [...this.o.urls],
        observer: this.o.observer,
        preferredUrl: this.o.preferredUrl,
        reportLatency: this.o.reportLatency,
      };
    }
    this.post(want);
  }

  private post(message: TabMessage): void {
    if (this.port) this.port.postMessage(message);
    else if (this.hub) {
      if (message.t === 'want') this.hub.want(message);
      else this.hub.bye(message.tab);
    } else this.channel?.postMessage(message);
  }
}

/** The subscription takes events of this type (no types: Ovation's, all of them). */
function wants(subscription: Subscription, event: EventEnvelope): boolean {
  return subscription.types.length === 0 || subscription.types.includes(event.type);
}

const connections = new Map<string, SharedRealtimeConnection>();

/**
 * The page's shared connection of that name (made on the first call; later calls get the same one,
 * their options unused). Use `subscribe(topics, { onEvent, onStatus, onResync })` on it.
 */
export function connectShared(options: SharedConnectionOptions): SharedRealtimeConnection {
  const name = options.name ?? defaultName(options.observer === true);
  let connection = connections.get(name);
  if (!connection) {
    connection = new SharedRealtimeConnection({ ...options, name });
    connections.set(name, connection);
  }
  return connection;
}

/** The browser can share a connection between tabs (SharedWorker, or Web Locks and BroadcastChannel). */
export function canShareConnection(): boolean {
  return typeof globalThis.SharedWorker === 'function' || (globalLocks() !== undefined && hasBroadcastChannel());
}

function defaultName(observer: boolean): string {
  const origin = (globalThis as { location?: { origin?: string } }).location?.origin ?? 'default';
  return `ovation-realtime:${origin}${observer ? ':observer' : ''}`;
}

function defaultWorker(): (() => SharedWorkerLike) | undefined {
  if (typeof globalThis.SharedWorker !== 'function') return undefined;
  // A literal `new SharedWorker(new URL(…, import.meta.url), …)`: bundlers (webpack, Turbopack,
  // Vite) see it and ship the worker. One worker per origin holds a hub per connection name.
  // Its name carries the protocol version: a worker of another build is never joined.
  return () =>
    new SharedWorker(new URL('./shared-worker.js', import.meta.url), {
      type: 'module',
      name: `ovation-realtime-v${SHARED_PROTOCOL_VERSION}`,
    });
}

function hasBroadcastChannel(): boolean {
  return typeof (globalThis as { BroadcastChannel?: unknown }).BroadcastChannel === 'function';
}

function globalLocks(): LockManagerLike | undefined {
  const locks = (globalThis as { navigator?: { locks?: LockManagerLike } }).navigator?.locks;
  return locks && typeof locks.request === 'function' ? locks : undefined;
}

function globalChannel(name: string): ChannelLike {
  return new BroadcastChannel(name);
}

function windowLifecycle(): SharedConnectionOptions['lifecycle'] {
  const target = globalThis as { addEventListener?: (type: string, listener: (event: unknown) => void) => void };
  if (typeof target.addEventListener !== 'function' || typeof window === 'undefined') return undefined;
  return {
    onLeave: (listener) => target.addEventListener?.('pagehide', listener),
    onReturn: (listener) =>
      target.addEventListener?.('pageshow', (event) => {
        // Back from the back-forward cache: join again (a first show finds the tab joined already).
        if ((event as { persisted?: boolean }).persisted) listener();
      }),
  };
}

function randomId(): string {
  const crypto = (globalThis as { crypto?: { randomUUID?: () => string } }).crypto;
  return crypto?.randomUUID?.() ?? `${Date.now().toString(36)}-${Math.random().toString(36).slice(2)}`;
}
