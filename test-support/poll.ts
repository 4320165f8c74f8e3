/**
 * Polls `check` until it returns a value other than undefined/false, or fails after `timeoutMs`.
 *
 * An error thrown by `check` ends the wait at once and fails the test: a poll must never turn a
 * failed assertion into "not yet" (an `expect(...)` inside a check that fails because of a 500
 * would otherwise be retried until something else comes along). Assert on what the poll returns,
 * outside it. A check that talks to something still starting may name the errors that only mean
 * "not yet" with `tolerate` (see `isConnectionRefused`); those are retried, and the last one is
 * reported on timeout.
 */
export async function waitFor<T>(
  what: string,
  check: () => T | undefined | false | Promise<T | undefined | false>,
  {
    timeoutMs = 10_000,
    intervalMs = 20,
    tolerate,
  }: { timeoutMs?: number; intervalMs?: number; tolerate?: (error: unknown) => boolean } = {},
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value !== undefined && value !== false) return value;
    } catch (error) {
      if (!tolerate?.(error)) throw error;
      lastError = error;
    }
    if (Date.now() > deadline) {
      const cause = lastError instanceof Error ? ` (last error: ${lastError.message})` : '';
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${cause}`);
    }
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

/** A request to something that is not listening (yet): "not yet", for `waitFor`'s `tolerate`. */
export function isConnectionRefused(error: unknown): boolean {
  let current: unknown = error;
  for (let depth = 0; depth < 4 && current instanceof Error; depth++) {
    const code = (current as NodeJS.ErrnoException).code;
    if (code === 'ECONNREFUSED' || code === 'ECONNRESET' || code === 'UND_ERR_SOCKET') return true;
    current = current.cause;
  }
  return false;
}
