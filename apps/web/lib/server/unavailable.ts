import { AppError } from '@ovation/shared';

/*
 * The one place where a failing dependency of a request (the product store, the rate limiter)
 * becomes the contract's 503 UNAVAILABLE with Retry-After — never a 500 with a stack trace, and
 * never a request hanging until Redis comes back.
 */

export function asUnavailable(what: string, error: unknown): AppError {
  if (error instanceof AppError) return error;
  return new AppError('UNAVAILABLE', `${what} is unavailable; try again`, { cause: error, retryAfterSeconds: 1 });
}

/**
 * Wraps every method of `target` so that a failure leaves as UNAVAILABLE. `ready` is awaited
 * first: the Redis client's first connection, so requests in the first milliseconds of the
 * process wait for it instead of failing (after it, an already settled promise).
 */
export function failFast<T extends object>(target: T, what: string, ready: Promise<void> = Promise.resolve()): T {
  return new Proxy(target, {
    get(object, property, receiver) {
      const value: unknown = Reflect.get(object, property, receiver);
      if (typeof value !== 'function') return value;
      return async (...args: unknown[]) => {
        try {
          await ready;
          return await value.apply(object, args);
        } catch (error) {
          throw asUnavailable(what, error);
        }
      };
    },
  });
}
