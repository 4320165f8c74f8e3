import {
  DelegateBackoff,
  ExponentialBackoff,
  fullJitterGenerator,
  handleWhen,
  type IBackoff,
  type IRetryBackoffContext,
  type RetryPolicy,
  retry,
} from 'cockatiel';
import { PublishError } from './errors.js';

/*
 * One `POST /publish` over the dispatchers, with retries (cockatiel's retry policy):
 *
 *   attempt ──▶ dispatcher i ── 202 ──▶ ids
 *                  │ no answer, 5xx, 429: the next dispatcher, after a backoff (full jitter) and
 *                  │   never sooner than a dispatcher's own Retry-After
 *                  │ any other 4xx: thrown at once (the same request would be refused again)
 *
 * Every attempt of a request carries the same Idempotency-Key, so a dispatcher that accepted it
 * but answered too late is not made to deliver it twice by the next attempt.
 */

export interface RetryOptions {
  /** Attempts per request in all, over the dispatchers in turn (default 5). */
  attempts?: number;
  /** Backoff after the first failure, doubled after each further one up to `maxMs` (defaults 100, 2000). */
  baseMs?: number;
  maxMs?: number;
  /**
   * The longest a request waits for a dispatcher's `Retry-After` (default 10,000 ms): when the next
   * dispatcher to try asked for longer, the request fails at once with that error (its
   * `retryAfterMs` says when to come back) instead of holding the caller.
   */
  maxWaitMs?: number;
}

export interface TransportOptions {
  urls: readonly string[];
  token: string;
  retry?: RetryOptions;
  /** Per attempt (default 2000 ms). */
  timeoutMs?: number;
  fetch?: typeof fetch;
}

export class Transport {
  private readonly urls: readonly string[];
  private readonly policy: RetryPolicy;
  private readonly maxWaitMs: number;
  private readonly timeoutMs: number;
  private readonly fetch: typeof fetch;
  /** The dispatcher the next request starts at: one that failed is left for the next. */
  private current = 0;
  /** Per dispatcher: not to be asked before this time (its Retry-After). */
  private readonly notBefore: number[];

  constructor(private readonly options: TransportOptions) {
    if (options.urls.length === 0) throw new TypeError('@ovation/publisher: `urls` needs at least one dispatcher URL');
    this.urls = options.urls.map((url) => url.replace(/\/+$/, ''));
    this.notBefore = this.urls.map(() => 0);
    this.maxWaitMs = options.retry?.maxWaitMs ?? 10_000;
    this.timeoutMs = options.timeoutMs ?? 2000;
    this.fetch = options.fetch ?? globalThis.fetch;
    const exponential = new ExponentialBackoff({
      initialDelay: options.retry?.baseMs ?? 100,
      maxDelay: options.retry?.maxMs ?? 2000,
      generator: fullJitterGenerator,
    });
    this.policy = retry(
      // A failure is worth another attempt when it may pass later, and the dispatcher to try next
      // takes requests again soon enough.
      handleWhen((error) => error instanceof PublishError && error.retryable && this.waitMs() <= this.maxWaitMs),
      {
        maxAttempts: (options.retry?.attempts ?? 5) - 1,
        backoff: new DelegateBackoff<IRetryBackoffContext<unknown>, IBackoff<unknown> | undefined>((_, previous) => {
          const next = previous ? previous.next(undefined) : exponential.next();
          return { delay: Math.max(next.duration, this.waitMs()), state: next };
        }),
      },
    );
  }

  /** POSTs `body` (a JSON `{events}` batch of `count` events) with this Idempotency-Key; the 202's ids. */
  send(body: string, count: number, idempotencyKey: string, signal?: AbortSignal): Promise<string[]> {
    return this.policy.execute(async () => {
      const i = this.current;
      try {
        return await this.attempt(this.urls[i] as string, body, count, idempotencyKey, signal);
      } catch (error) {
        if (error instanceof PublishError && error.retryable) {
          if (error.retryAfterMs !== undefined) this.notBefore[i] = Date.now() + error.retryAfterMs;
          // Later requests start at the next dispatcher too, unless another request moved on already.
          if (this.current === i) this.current = (i + 1) % this.urls.length;
        }
        throw error;
      }
    }, signal);
  }

  /** How long the dispatcher to try next asked not to be asked. */
  private waitMs(): number {
    return Math.max(0, (this.notBefore[this.current] ?? 0) - Date.now());
  }

  private async attempt(
    base: string,
    body: string,
    count: number,
    idempotencyKey: string,
    signal: AbortSignal | undefined,
  ): Promise<string[]> {
    const timeout = AbortSignal.timeout(this.timeoutMs);
    let response: Response;
    try {
      response = await this.fetch(`${base}/publish`, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          authorization: `Bearer ${this.options.token}`,
          'idempotency-key': idempotencyKey,
        },
        body,
        signal: signal ? AbortSignal.any([signal, timeout]) : timeout,
      });
    } catch (error) {
      // The caller's abort ends the publish; anything else (refused, reset, timeout) is worth another dispatcher.
      const aborted = signal?.aborted === true;
      throw new PublishError(aborted ? 'ABORTED' : 'UNREACHABLE', `dispatcher ${base}: ${describe(error)}`, {
        retryable: !aborted,
        cause: error,
      });
    }
    const text = await response.text().catch(() => '');
    if (response.status === 202) {
      const ids = idsOf(text);
      if (ids?.length === count) return ids;
      throw new PublishError('BAD_RESPONSE', `dispatcher ${base}: a 202 without one id per event`, { status: 202 });
    }
    const { code, message } = errorOf(text, response.status);
    const retryAfterMs = retryAfter(response.headers.get('retry-after'));
    throw new PublishError(code, `dispatcher ${base} answered ${response.status}: ${message}`, {
      status: response.status,
      retryable: response.status >= 500 || response.status === 429,
      ...(retryAfterMs === undefined ? {} : { retryAfterMs }),
    });
  }
}

function idsOf(text: string): string[] | undefined {
  try {
    const body: unknown = JSON.parse(text);
    if (typeof body !== 'object' || body === null || !('ids' in body) || !Array.isArray(body.ids)) return undefined;
    const ids: unknown[] = body.ids;
    return ids.every((id) => typeof id === 'string') ? (ids as string[]) : undefined;
  } catch {
    return undefined;
  }
}

/** The contract's `{ error: { code, message } }`, or what can be said without it (a proxy's page). */
function errorOf(text: string, status: number): { code: string; message: string } {
  try {
    const body: unknown = JSON.parse(text);
    if (typeof body === 'object' && body !== null && 'error' in body) {
      const error: unknown = body.error;
      if (typeof error === 'object' && error !== null && 'code' in error && typeof error.code === 'string') {
        const message = 'message' in error && typeof error.message === 'string' ? error.message : '';
        return { code: error.code, message };
      }
    }
  } catch {}
  return { code: status >= 500 ? 'UNAVAILABLE' : 'BAD_RESPONSE', message: `HTTP ${status}` };
}

/** `Retry-After` in seconds or as an HTTP date; undefined when absent or unreadable. */
function retryAfter(header: string | null): number | undefined {
  if (header === null) return undefined;
  const trimmed = header.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed) * 1000;
  const at = Date.parse(trimmed);
  return Number.isNaN(at) ? undefined : Math.max(0, at - Date.now());
}

function describe(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  if (error.name === 'TimeoutError') return 'no answer in time';
  // fetch's TypeError keeps the reason (ECONNREFUSED, …) in its cause.
  const code = (error.cause as { code?: unknown } | undefined)?.code;
  return typeof code === 'string' ? code : error.message;
}
