import { randomUUID } from 'node:crypto';
import { PublishError } from './errors.js';
import type { EventData, PublishEvent } from './events.js';
import {
  EVENT_TYPE_PATTERN,
  IDEMPOTENCY_KEY_PATTERN,
  MAX_EVENT_DATA_BYTES,
  MAX_PUBLISH_BATCH,
  MAX_PUBLISH_BODY_BYTES,
  RESERVED_EVENT_TYPES,
  TOPIC_PATTERN,
} from './limits.js';
import { type RetryOptions, Transport } from './transport.js';

/*
 * Publishing into Ovation's dispatcher tier:
 *
 *   publish(event) ──▶ [queue] ──after windowMs, or at maxEvents/maxBytes──▶ POST /publish {events}
 *                                 one batch in flight at a time, in order    Idempotency-Key: <new per batch>
 *   send(events, { idempotencyKey }) ──────────────────────────────────────▶ POST /publish (at once)
 *
 * A batch's key is made once, before its first attempt, so however often it is retried (another
 * dispatcher, a timeout after the dispatcher had accepted it) its events are accepted once.
 * Batches go one at a time: events reach their topics in the order they were published, and
 * while a batch is in flight the next one fills up (under load each request carries many events).
 */

export interface BatchOptions {
  /** How long the first event of a batch waits for others (default 5 ms; 0: the next tick). */
  windowMs?: number;
  /** Events per request (default and at most 1000). */
  maxEvents?: number;
  /** Encoded bytes per request (default and at most the dispatcher's 64 KiB body limit). */
  maxBytes?: number;
  /** Events queued (in flight included) beyond which publish() fails at once with QUEUE_FULL (default 10,000). */
  maxQueued?: number;
}

export interface PublisherOptions {
  /** Dispatcher base URLs (DISPATCHER_URLS): any of them will do; one that fails is left for the next. */
  urls: readonly string[];
  /** The internal token (INTERNAL_TOKEN). */
  token: string;
  batch?: BatchOptions;
  retry?: RetryOptions;
  /** Per attempt (default 2000 ms). */
  timeoutMs?: number;
  /** Makes a batch's Idempotency-Key (default: a random UUID). Keys are shared by all publishers. */
  newKey?: () => string;
  /** A fetch of your own (an agent with other limits, a test's). */
  fetch?: typeof fetch;
}

interface Queued {
  encoded: string;
  /** UTF-8 bytes of `encoded`. */
  bytes: number;
  key: string | undefined;
  resolve: (id: string) => void;
  reject: (error: unknown) => void;
}

/** Room for `{"events":[` … `]}`. */
const ENVELOPE_BYTES = 16;

export class Publisher {
  private readonly transport: Transport;
  private readonly windowMs: number;
  private readonly maxEvents: number;
  private readonly maxBytes: number;
  private readonly maxQueued: number;
  private readonly newKey: () => string;
  private queue: Queued[] = [];
  private inFlight = 0;
  private timer: NodeJS.Timeout | undefined;
  private pumping: Promise<void> | undefined;
  private closed = false;

  constructor(options: PublisherOptions) {
    this.transport = new Transport(options);
    this.windowMs = options.batch?.windowMs ?? 5;
    this.maxEvents = Math.min(MAX_PUBLISH_BATCH, Math.max(1, options.batch?.maxEvents ?? MAX_PUBLISH_BATCH));
    this.maxBytes = Math.min(MAX_PUBLISH_BODY_BYTES, options.batch?.maxBytes ?? MAX_PUBLISH_BODY_BYTES);
    this.maxQueued = options.batch?.maxQueued ?? 10_000;
    this.newKey = options.newKey ?? randomUUID;
  }

  /**
   * Queues one event for the next batch; resolves with its id once a dispatcher accepted the batch.
   * Rejects with a PublishError: at once for an event the dispatcher would refuse (INVALID_EVENT) or
   * a full queue, or when its batch failed after the retries.
   */
  publish<Type extends string, Data extends EventData>(event: PublishEvent<Type, Data>): Promise<string> {
    if (this.closed) return Promise.reject(new PublishError('CLOSED', 'the publisher is closed'));
    let encoded: string;
    try {
      encoded = encode(event);
    } catch (error) {
      return Promise.reject(error);
    }
    if (this.queue.length + this.inFlight >= this.maxQueued) {
      return Promise.reject(
        new PublishError('QUEUE_FULL', `${this.maxQueued} events are queued already; publish again later`, {
          retryable: true,
        }),
      );
    }
    return new Promise<string>((resolve, reject) => {
      this.queue.push({ encoded, bytes: Buffer.byteLength(encoded), key: event.key, resolve, reject });
      if (this.queue.length >= this.maxEvents) this.pump();
      else this.timer ??= setTimeout(() => this.pump(), this.windowMs);
    });
  }

  /**
   * Sends these events as one request now, beside the queue, with this Idempotency-Key (a new one
   * when none is given); resolves with their ids in order. A caller that may retry the request
   * later (a user's retry of the same write) passes a key derived from the change: the dispatcher
   * then accepts it once, whichever attempt reached it.
   */
  async send(
    events: readonly PublishEvent[],
    options: { idempotencyKey?: string; signal?: AbortSignal } = {},
  ): Promise<string[]> {
    if (this.closed) throw new PublishError('CLOSED', 'the publisher is closed');
    if (events.length === 0 || events.length > MAX_PUBLISH_BATCH) {
      throw new PublishError('INVALID_EVENT', `events: 1 to ${MAX_PUBLISH_BATCH} per request`);
    }
    const key = options.idempotencyKey ?? this.newKey();
    checkKey(key, 'idempotencyKey');
    const encoded = events.map(encode);
    return this.transport.send(`{"events":[${encoded.join(',')}]}`, events.length, key, options.signal);
  }

  /** Sends what is queued now; resolves once everything published before it was answered. */
  async flush(): Promise<void> {
    this.pump();
    while (this.pumping) await this.pumping;
  }

  /** Sends what is queued, then refuses new events (CLOSED). */
  async close(): Promise<void> {
    this.closed = true;
    await this.flush();
  }

  private pump(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    if (this.pumping || this.queue.length === 0) return;
    this.pumping = (async () => {
      try {
        while (this.queue.length > 0) await this.sendBatch(this.take());
      } finally {
        this.pumping = undefined;
      }
    })();
  }

  /**
   * The next batch from the front of the queue: at most maxEvents and maxBytes, and no key twice
   * (the dispatcher refuses a batch naming one key twice; the second waits for the next batch).
   */
  private take(): Queued[] {
    let bytes = ENVELOPE_BYTES;
    let count = 0;
    const keys = new Set<string>();
    for (const item of this.queue) {
      if (count === this.maxEvents) break;
      bytes += item.bytes + 1;
      if (count > 0 && bytes > this.maxBytes) break;
      if (item.key !== undefined) {
        if (keys.has(item.key)) break;
        keys.add(item.key);
      }
      count++;
    }
    if (count === this.queue.length) {
      const all = this.queue;
      this.queue = [];
      return all;
    }
    return this.queue.splice(0, count);
  }

  private async sendBatch(batch: Queued[]): Promise<void> {
    this.inFlight = batch.length;
    try {
      const body = `{"events":[${batch.map((item) => item.encoded).join(',')}]}`;
      const ids = await this.transport.send(body, batch.length, this.newKey());
      for (const [i, item] of batch.entries()) item.resolve(ids[i] as string);
    } catch (error) {
      for (const item of batch) item.reject(error);
    } finally {
      this.inFlight = 0;
    }
  }
}

/** The event as JSON, after the checks the dispatcher would make (so it cannot fail a whole batch). */
function encode(event: PublishEvent): string {
  const { topic, type, data, key } = event;
  if (typeof topic !== 'string' || !TOPIC_PATTERN.test(topic)) invalid('topic', 'must match ^[A-Za-z0-9:_-]{1,128}$');
  if (typeof type !== 'string' || !EVENT_TYPE_PATTERN.test(type)) invalid('type', 'must match ^[a-z_]{1,32}$');
  if ((RESERVED_EVENT_TYPES as readonly string[]).includes(type)) invalid('type', 'is reserved for the server');
  if (typeof data !== 'object' || data === null || Array.isArray(data)) invalid('data', 'must be a JSON object');
  const encodedData = JSON.stringify(data);
  if (Buffer.byteLength(encodedData) > MAX_EVENT_DATA_BYTES) {
    invalid('data', `must be at most ${MAX_EVENT_DATA_BYTES} bytes as JSON`);
  }
  if (type === 'like') {
    const count = (data as { count?: unknown }).count;
    if (typeof count !== 'number' || !Number.isInteger(count) || count < 1) {
      invalid('data.count', 'must be a whole number of at least 1');
    }
  }
  if (key !== undefined) checkKey(key, 'key');
  const keyPart = key === undefined ? '' : `,"key":${JSON.stringify(key)}`;
  return `{"topic":${JSON.stringify(topic)},"type":${JSON.stringify(type)},"data":${encodedData}${keyPart}}`;
}

function checkKey(key: string, field: string): void {
  if (typeof key !== 'string' || !IDEMPOTENCY_KEY_PATTERN.test(key))
    invalid(field, 'must be 1-128 printable ASCII characters');
}

function invalid(field: string, message: string): never {
  throw new PublishError('INVALID_EVENT', `${field}: ${message}`);
}
