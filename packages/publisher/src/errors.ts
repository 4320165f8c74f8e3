/**
 * A publish that did not get its `202`. `code` is the dispatcher's error code (`VALIDATION_FAILED`,
 * `UNAUTHORIZED`, `UNAVAILABLE`, …) or one of the publisher's own: `UNREACHABLE` (no answer: refused
 * connection, reset, timeout), `BAD_RESPONSE` (an answer that is not the contract's), `INVALID_EVENT`
 * (refused before sending), `QUEUE_FULL`, `CLOSED`.
 */
export class PublishError extends Error {
  override readonly name = 'PublishError';
  readonly code: string;
  /** The HTTP status of the last answer; undefined when there was none. */
  readonly status: number | undefined;
  /** From the last answer's `Retry-After`: the dispatcher asked not to be asked again sooner. */
  readonly retryAfterMs: number | undefined;
  /** Whether the same request may succeed later (no answer, 5xx, 429); a 4xx otherwise will not. */
  readonly retryable: boolean;

  constructor(
    code: string,
    message: string,
    options: { status?: number; retryAfterMs?: number; retryable?: boolean; cause?: unknown } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.status = options.status;
    this.retryAfterMs = options.retryAfterMs;
    this.retryable = options.retryable ?? false;
  }
}
