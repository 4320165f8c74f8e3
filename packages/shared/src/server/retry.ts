import {
  ExponentialBackoff,
  type GeneratorFn,
  handleWhen,
  type IBackoff,
  noJitterGenerator,
  type RetryPolicy,
  retry,
} from 'cockatiel';

/*
 * The one retry implementation of the server tiers, on cockatiel's backoff and retry policies:
 *
 *   Backoff   a loop that retries by itself (a node channel, the relayer, the node's link to the
 *             dispatcher tier) asks it for the delay after each failure and resets it after a success;
 *             the loop keeps its own order, resend and timers — only the schedule is here.
 *   Failover  one call over several URLs in turn (the node → dispatcher tier calls): a failed
 *             attempt moves to the next URL, and later calls start there.
 *
 * @ovation/publisher (the web tier's publishing) uses the same library for its own policy: a
 * published package cannot depend on this private one.
 */

/**
 * `none`: the capped exponential delay itself; `half`: between half of it and all of it; `full`:
 * between 0 and it (spreads retries of many senders the most).
 */
export type Jitter = 'none' | 'half' | 'full';

export interface BackoffOptions {
  /** The delay after the first failure (before jitter); doubled after each further one. */
  baseMs: number;
  /** The doubled delay stops growing here (before jitter). */
  maxMs: number;
  jitter: Jitter;
  /** Tests make the jitter predictable. */
  random?: () => number;
}

/**
 * A cockatiel backoff: base × 2^(failures − 1), capped at max, then jittered with `random` (the
 * library's own jitter generators use Math.random, which tests could not steer).
 */
export function exponentialBackoff(options: BackoffOptions): ExponentialBackoff<number> {
  const random = options.random ?? Math.random;
  const { jitter } = options;
  const generator: GeneratorFn<number> = (attempts, generatorOptions) => {
    const [cap, next] = noJitterGenerator(attempts, generatorOptions);
    if (jitter === 'none') return [cap, next];
    if (jitter === 'half') return [Math.floor((cap + random() * cap) / 2), next];
    return [Math.floor(random() * cap), next];
  };
  return new ExponentialBackoff({ initialDelay: options.baseMs, maxDelay: options.maxMs, exponent: 2, generator });
}

/** The delays of a loop that retries by itself: `next()` after each failure, `reset()` after a success. */
export class Backoff {
  private readonly factory: ExponentialBackoff<number>;
  private current: IBackoff<unknown> | undefined;
  /** Failures since the last success. */
  failures = 0;

  constructor(options: BackoffOptions) {
    this.factory = exponentialBackoff(options);
  }

  /** Counts one more failure; the delay to wait before the next attempt. */
  next(): number {
    this.current = this.current ? this.current.next(undefined) : this.factory.next();
    this.failures++;
    return this.current.duration;
  }

  reset(): void {
    this.current = undefined;
    this.failures = 0;
  }
}

export interface FailoverOptions {
  /** Attempts per call in all, over the URLs in turn; each URL once by default. */
  attempts?: number;
  /** Waits between attempts; none by default (the next URL is tried at once). */
  backoff?: BackoffOptions;
  /** Whether a failed attempt is worth another; every failure by default. */
  retryable?: (error: unknown) => boolean;
}

/**
 * Calls over several URLs: a failed attempt moves on to the next URL (and later calls start there),
 * so a dead peer costs one failed attempt, not one per call. Throws the last attempt's error.
 */
export class Failover {
  private readonly policy: RetryPolicy;
  private readonly retryable: (error: unknown) => boolean;
  private current = 0;
  /** Failed attempts so far (any URL). */
  failures = 0;

  constructor(
    readonly urls: readonly string[],
    options: FailoverOptions = {},
  ) {
    if (urls.length === 0) throw new Error('Failover needs at least one URL');
    const retryable = options.retryable ?? (() => true);
    this.retryable = retryable;
    this.policy = retry(
      handleWhen((error) => retryable(error)),
      {
        maxAttempts: (options.attempts ?? urls.length) - 1,
        ...(options.backoff ? { backoff: exponentialBackoff(options.backoff) } : {}),
      },
    );
  }

  /** The URL the next call starts at. */
  get base(): string {
    return this.urls[this.current] as string;
  }

  run<T>(attempt: (base: string) => Promise<T>): Promise<T> {
    return this.policy.execute(async () => {
      const base = this.base;
      try {
        return await attempt(base);
      } catch (error) {
        // A refusal of the request itself (not retryable) says nothing against this URL.
        if (this.retryable(error)) {
          this.failures++;
          this.current = (this.current + 1) % this.urls.length;
        }
        throw error;
      }
    });
  }
}
