'use client';

import { useMemo, useRef } from 'react';
import { ApiError } from './api';

/*
 * Retrying user actions through a short outage (a 503 while Redis or the dispatcher tier is down,
 * a dropped connection). Safe because every write of the API is: likes, comments and video
 * creation carry an Idempotency-Key made once per user action and reused by every retry of it;
 * start/end, deletes and bans are idempotent by what they name.
 */

/** Retries after the first failure, at most. */
const MAX_RETRIES = 3;

/** A failure that a later attempt may not meet: the server (or a proxy) unavailable, or no answer. */
export function isTransient(error: unknown): boolean {
  if (error instanceof ApiError) return error.status === 502 || error.status === 503 || error.status === 504;
  return true; // fetch failed: no answer at all
}

/**
 * For react-query mutations: a few retries of transient failures with backoff (about 0.5, 1, 2 s,
 * jittered so a crowd does not come back at once; never sooner than the server's Retry-After).
 */
export const retryOnOutage = {
  retry: (failureCount: number, error: Error) => failureCount < MAX_RETRIES && isTransient(error),
  retryDelay: (failureCount: number, error: Error) => {
    const backoff = 500 * 2 ** failureCount;
    const jittered = backoff / 2 + Math.random() * (backoff / 2);
    const retryAfter = error instanceof ApiError ? (error.retryAfterSeconds ?? 0) * 1000 : 0;
    return Math.max(jittered, retryAfter);
  },
};

/** A new Idempotency-Key: 128 random bits (getRandomValues works outside secure contexts too). */
export function newIdempotencyKey(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}

/**
 * One Idempotency-Key per user action: `for(what)` gives the same key while the user retries the
 * same thing (the same comment text, after the automatic retries gave up), a new one for anything
 * else; `done(what)` once it succeeded, so doing it again later is a new action.
 */
export function useActionKey(): { for(what: string): string; done(what: string): void } {
  const current = useRef<{ what: string; key: string } | undefined>(undefined);
  return useMemo(
    () => ({
      for(what: string) {
        if (current.current?.what !== what) current.current = { what, key: newIdempotencyKey() };
        return current.current.key;
      },
      done(what: string) {
        if (current.current?.what === what) current.current = undefined;
      },
    }),
    [],
  );
}
