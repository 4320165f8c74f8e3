import {
  ConnectedPayloadSchema,
  ReconnectPayloadSchema,
  ResyncPayloadSchema,
  type TEventEnvelope,
} from '../schemas.js';

/*
 * The browser's realtime client: one EventSource to one realtime node, chosen at random from
 * REALTIME_URLS so viewers spread over nodes.
 *
 *   connect ──▶ node A ── events, heartbeats ──▶ onEvent
 *       │ error / silence past the watchdog / `reconnect` frame / page hidden too long
 *       ▼
 *   wait (server's afterMs, or exponential backoff with full jitter) ──▶ another node,
 *   `?lastEventId=<last id seen>` so the new node can replay what was missed
 *
 * The browser's own EventSource retry is not used: it would go back to the same node. Everything
 * the client touches in the environment (EventSource, timers, randomness, clock, page visibility,
 * fetch) is injected, so its behaviour is unit-tested without a browser.
 */

export interface EventSourceLike {
  onopen: ((event: unknown) => void) | null;
  onerror: ((event: unknown) => void) | null;
  addEventListener(type: string, listener: (event: { data: string; lastEventId?: string }) => void): void;
  close(): void;
}

export type ClientStatus = 'connecting' | 'open' | 'reconnecting' | 'paused' | 'closed';

export interface RealtimeClientOptions {
  urls: readonly string[];
  topics: readonly string[];
  /** Event types to listen for (SSE `event:` names), besides the client's own control frames. */
  eventTypes: readonly string[];
  onEvent: (event: TEventEnvelope) => void;
  onStatus?: (status: ClientStatus, detail: { nodeUrl?: string; attempt: number }) => void;
  /** The server asked for a full reload (history no longer covers the last id). */
  onResync?: () => void;
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
  fetch?: (url: string, init: { method: string; headers: Record<string, string>; body: string }) => Promise<unknown>;
  /**
   * A connection token (`token=` on /connect; the web tier's GET /api/realtime-token) and how to get
   * a new one. It is renewed before an attempt when it expires within RENEW_BEFORE_MS, and after
   * attempts that failed before the stream opened (an EventSource cannot see a 401, so a token
   * refused for any reason — expired, a rotated key — looks like any failed attempt).
   */
  token?: {
    current?: ConnectTokenValue;
    renew: () => Promise<ConnectTokenValue>;
  };
}

export interface ConnectTokenValue {
  token: string;
  /** When the token stops being accepted, ms since the epoch. */
  expiresAt: number;
}

/** A token expiring within this long is renewed before the next attempt. */
export const RENEW_BEFORE_MS = 5 * 60_000;
/** Attempts failing in a row before the stream opened, after which the token is renewed. */
const FAILURES_BEFORE_RENEWAL = 2;

export interface VisibilitySource {
  isHidden(): boolean;
  onChange(listener: () => void): () => void;
}

const CONTROL_TYPES = ['connected', 'heartbeat', 'reconnect', 'resync'] as const;

/**
 * A control frame's payload, or undefined when the frame is not one the server sent: the server
 * never puts an event envelope (`id`, `topic`) in a control frame, so a frame named like one that
 * carries an event is a published event in disguise (an old peer, a bug) and is ignored — one
 * `reconnect` from a publisher must not send every viewer away.
 */
function controlPayload(data: string): Record<string, unknown> | undefined {
  let value: unknown;
  try {
    value = JSON.parse(data);
  } catch {
    return undefined;
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
  const record = value as Record<string, unknown>;
  return 'id' in record || 'type' in record ? undefined : record;
}
const MAX_LATENCY_SAMPLES = 100;

export class RealtimeClient {
  private source: EventSourceLike | undefined;
  private nodeUrl: string | undefined;
  private connectionId: string | undefined;
  private lastEventId: string | undefined;
  private attempt = 0;
  private status: ClientStatus = 'closed';
  private watchdog: unknown;
  private retryTimer: unknown;
  private switchTimer: unknown;
  private hiddenTimer: unknown;
  private reportTimer: unknown;
  private stopVisibility: (() => void) | undefined;
  private samples: number[] = [];
  private token: ConnectTokenValue | undefined;
  /** Attempts in a row that failed before their stream opened. */
  private failedBeforeOpen = 0;
  /** Bumped by every open and teardown: a renewal that returns after either is dropped. */
  private generation = 0;
  private readonly o: Required<
    Omit<RealtimeClientOptions, 'onStatus' | 'onResync' | 'visibility' | 'fetch' | 'preferredUrl' | 'token'>
  > &
    Pick<RealtimeClientOptions, 'onStatus' | 'onResync' | 'visibility' | 'fetch' | 'preferredUrl' | 'token'>;

  constructor(options: RealtimeClientOptions) {
    if (options.urls.length === 0) throw new Error('RealtimeClient needs at least one realtime URL');
    this.o = {
      createEventSource: (url) => new EventSource(url) as unknown as EventSourceLike,
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
    this.token = options.token?.current;
  }

  get currentNode(): string | undefined {
    return this.nodeUrl;
  }

  get lastId(): string | undefined {
    return this.lastEventId;
  }

  start(): void {
    if (this.status !== 'closed') return;
    if (this.o.visibility && !this.stopVisibility) {
      this.stopVisibility = this.o.visibility.onChange(() => this.onVisibilityChange());
    }
    this.open();
    this.scheduleReport();
  }

  stop(): void {
    this.teardown();
    this.o.clearTimeout(this.retryTimer);
    this.o.clearTimeout(this.switchTimer);
    this.switchTimer = undefined;
    this.o.clearTimeout(this.hiddenTimer);
    this.o.clearTimeout(this.reportTimer);
    this.stopVisibility?.();
    this.stopVisibility = undefined;
    this.setStatus('closed');
  }

  /** The delay before reconnect attempt `attempt` (1-based): full jitter over an exponential cap. */
  backoffDelay(attempt: number): number {
    const cap = Math.min(this.o.backoffMaxMs, this.o.backoffBaseMs * 2 ** Math.max(0, attempt - 1));
    return Math.floor(this.o.random() * cap);
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
        this.token = token;
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
    const params = new URLSearchParams({ topics: this.o.topics.join(',') });
    if (this.lastEventId) params.set('lastEventId', this.lastEventId);
    if (this.o.observer) params.set('observer', '1');
    if (this.token) params.set('token', this.token.token);
    this.setStatus(this.attempt === 0 ? 'connecting' : 'reconnecting');
    const source = this.o.createEventSource(`${this.nodeUrl}/connect?${params.toString()}`);
    /** `connected` came: the stream is open. */
    let opened = false;
    /** The node answered (a stream, even one that only sends the client elsewhere): the token was not refused. */
    let answered = false;
    this.source = source;
    source.onerror = () => {
      if (this.source !== source) return;
      if (!opened && !answered) this.failedBeforeOpen++;
      // Told to move already: the node ending the stream is expected; the switch is scheduled.
      if (this.switchTimer !== undefined) this.teardown();
      else this.retry();
    };
    source.addEventListener('connected', (event) => {
      if (this.source !== source) return;
      const connected = ConnectedPayloadSchema.safeParse(controlPayload(event.data));
      if (!connected.success) return;
      opened = true;
      this.failedBeforeOpen = 0;
      this.attempt = 0;
      this.connectionId = connected.data.connectionId;
      this.setStatus('open');
      this.feedWatchdog();
    });
    source.addEventListener('heartbeat', (event) => {
      if (this.source === source && controlPayload(event.data)) this.feedWatchdog();
    });
    source.addEventListener('reconnect', (event) => {
      if (this.source !== source) return;
      const told = ReconnectPayloadSchema.safeParse(controlPayload(event.data));
      if (!told.success) return;
      answered = true;
      // Sent away before the stream opened (the node is full or draining, or cannot set the topics
      // up): back off as after a failure, or every client would go round the nodes at once.
      const afterMs = opened ? told.data.afterMs : Math.max(told.data.afterMs, this.backoffDelay(++this.attempt));
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
      if (this.source !== source || !ResyncPayloadSchema.safeParse(controlPayload(event.data)).success) return;
      this.lastEventId = undefined;
      this.o.onResync?.();
    });
    for (const type of this.o.eventTypes) {
      if ((CONTROL_TYPES as readonly string[]).includes(type)) continue;
      source.addEventListener(type, (event) => {
        if (this.source !== source) return;
        this.feedWatchdog();
        let envelope: TEventEnvelope;
        try {
          envelope = JSON.parse(event.data) as TEventEnvelope;
        } catch {
          return;
        }
        if (envelope.id) this.lastEventId = envelope.id;
        this.sample(envelope);
        this.o.onEvent(envelope);
      });
    }
    this.feedWatchdog();
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

  private sample(envelope: TEventEnvelope): void {
    if (!this.reportsLatency || typeof envelope.ts !== 'number') return;
    // A replayed event or a snapshot says nothing about how fast live delivery is.
    if (envelope.replayed || envelope.type === 'snapshot') return;
    if (this.samples.length >= MAX_LATENCY_SAMPLES) return;
    this.samples.push(Math.min(60_000, Math.max(0, this.o.now() - envelope.ts)));
  }

  private scheduleReport(): void {
    if (!this.reportsLatency || !this.o.fetch) return;
    this.reportTimer = this.o.setTimeout(() => {
      this.flushLatency();
      this.scheduleReport();
    }, this.o.latencyReportIntervalMs);
  }

  private flushLatency(): void {
    const topic = this.o.topics[0];
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
