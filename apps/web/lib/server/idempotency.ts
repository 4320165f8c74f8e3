import { createHash } from 'node:crypto';
import { AppError, type TPublishEvent } from '@ovation/shared';
import type { z } from 'zod';
import { context } from './context';
import { keyedVideoId, type Once, type OnceRecord } from './store/store';

/*
 * Retry-safe writes. A write made with an Idempotency-Key is recorded under (user, key) in the
 * same atomic store step as the write itself, with a fingerprint of the request and its result:
 *
 *   first attempt:  recall → none → write + record (one script) → publish (dispatcher key K)
 *                                                                → note "K published"
 *   repeat:         recall → record → K published? → answer the recorded result
 *                                   → not yet      → publish with K → answer the recorded result
 *
 * so a repeat never writes twice, and a first attempt that stored but could not publish (503) is
 * completed by the retry. The dispatcher key K is derived from the change, never random, so a
 * publish that reached a dispatcher which answered too late is not delivered twice either (the
 * dispatcher remembers K for the same IDEMPOTENCY_TTL_MS as the records here).
 *
 * The record is kept beside the video the write is about (on a Redis Cluster, in its hash slot:
 * the write and its record stay one script). So a key reused for another request about the same
 * video is refused (409), while one reused for a write about another video is a request of its
 * own there. A create's video id comes from the key: a create that stopped half-way is finished
 * by its repeat (store.ts keyedVideoId, redis-store.ts createVideo).
 */

/**
 * A write's (user, Idempotency-Key) scope and its request's fingerprint; undefined without a key.
 * `videoId`: the video the write is about, beside which the store keeps the record; none for a
 * new video, whose id the scope gives (keyedVideoId).
 */
export function onceFor(
  userId: string,
  key: string | undefined,
  request: unknown[],
  videoId?: string,
): Once | undefined {
  if (key === undefined) return undefined;
  const scope = digest([userId, key]);
  return { scope, fingerprint: digest(request), videoId: videoId ?? keyedVideoId(scope) };
}

/**
 * Makes a write at most once per Once: `replay` answers a repeat from the first attempt's record;
 * `write` is the first attempt (undefined from it: a concurrent request with the same key was
 * first, and this one is answered as its repeat).
 */
export async function runOnce<T>(
  once: Once | undefined,
  replay: (record: OnceRecord) => Promise<T>,
  write: () => Promise<T | undefined>,
): Promise<T> {
  if (once) {
    const record = await recall(once);
    if (record) return replay(record);
  }
  const result = await write();
  if (result !== undefined) return result;
  const record = once && (await recall(once));
  if (!record) throw new AppError('UNAVAILABLE', 'the write could not be completed; try again');
  return replay(record);
}

/** A once record's result, as the schema says it was written. */
export function resultOf<S extends z.ZodType>(schema: S, record: OnceRecord): z.output<S> {
  let value: unknown;
  try {
    value = JSON.parse(record.result);
  } catch {}
  const parsed = schema.safeParse(value);
  if (!parsed.success) throw new AppError('INTERNAL', 'a stored idempotency record is unreadable');
  return parsed.data;
}

/** Publishes a change just stored; `remember`: note that it went out, for a repeat to find. */
export async function publishChange(events: TPublishEvent[], key: string, options: { remember: boolean }) {
  const { dispatcher, store } = context();
  await dispatcher.publish(events, { idempotencyKey: key });
  // Only spares a repeat the publish (K already makes that one harmless): a failure here must not
  // turn a change that was stored and published into a 503.
  if (options.remember) await store.notePublished(key).catch(() => {});
}

/**
 * Completes a repeated change: publishes its events with the first attempt's key unless they went
 * out already, or are no longer wanted (`stillWanted`: a comment deleted meanwhile).
 */
export async function completePublish(events: TPublishEvent[], key: string, stillWanted?: () => Promise<boolean>) {
  if (await context().store.wasPublished(key)) return;
  if (stillWanted && !(await stillWanted())) return;
  await publishChange(events, key, { remember: true });
}

async function recall(once: Once): Promise<OnceRecord | undefined> {
  const record = await context().store.recall(once);
  if (record && record.fingerprint !== once.fingerprint) {
    throw new AppError(
      'CONFLICT',
      'Idempotency-Key: already used for a different request; make a new key for each action',
    );
  }
  return record;
}

function digest(value: unknown[]): string {
  return createHash('sha256').update(JSON.stringify(value)).digest('base64url');
}
