import { randomUUID } from 'node:crypto';
import {
  AppError,
  ReactionCountsSchema,
  ReactionSchema,
  reactionTotals,
  type TPublishEvent,
  type TReaction,
  type TReactionCounts,
  type TUser,
  videoTopic,
} from '@ovation/shared';
import { z } from 'zod';
import { context } from './context';
import { completePublish, onceFor, publishChange, resultOf, runOnce } from './idempotency';
import type { LikesAdded } from './store/store';
import { findVideo } from './videos';

/** A once record of a like (store.ts likeResult); records from before reactions hold only likes. */
const LikeResultSchema = z.object({
  total: z.number().int(),
  count: z.number().int().positive(),
  reaction: ReactionSchema.default('like'),
  others: ReactionCountsSchema.default({}),
});

interface LikeBatch {
  count: number;
  reaction: TReaction;
}

/**
 * Adds a batch of a user's taps of one reaction and publishes them: the `like` event carries the
 * batch per reaction (`byReaction`) and the video's totals per reaction after it. With an Idempotency-Key, a repeat
 * answers the first total and counts nothing again — and publishes the batch if the first
 * attempt could not, so viewers count it exactly once.
 */
export async function like(
  user: TUser,
  id: string,
  batch: LikeBatch,
  options: { key?: string | undefined; address: string },
): Promise<{ total: number; totals: TReactionCounts }> {
  const { count, reaction } = batch;
  const { key, address } = options;
  const { limits, store } = context();
  const once = onceFor(user.id, key, likeFingerprint(id, batch), id);
  // Without a key no repeat can find this publish; the key still keeps the client's own
  // failover from one dispatcher to the next from delivering the batch twice.
  const dispatcherKey = `web:like:${once?.scope ?? randomUUID()}`;
  return runOnce(
    once,
    async (record) => {
      const first = resultOf(LikeResultSchema, record);
      const totals = reactionTotals(first.total, first.others);
      await completePublish(likeEvents(user, id, first, { total: first.total, totals }), dispatcherKey);
      return { total: first.total, totals };
    },
    async () => {
      await limits.like(user.id, count, address);
      const video = await findVideo(id);
      if (video.status !== 'live') throw new AppError('CONFLICT', 'this video is not live');
      const added = await store.addLikes(id, count, once, reaction);
      if (added === undefined) return undefined;
      await publishChange(likeEvents(user, id, batch, added), dispatcherKey, { remember: once !== undefined });
      return added;
    },
  );
}

/**
 * What a keyed like request is recognised by: a `like` batch by what it was before reactions, so
 * a retry across an upgrade still finds its first attempt (and publishes it if that could not).
 */
export function likeFingerprint(id: string, batch: LikeBatch): unknown[] {
  return batch.reaction === 'like' ? ['like', id, batch.count] : ['like', id, batch.count, batch.reaction];
}

function likeEvents(user: TUser, id: string, batch: LikeBatch, added: LikesAdded): TPublishEvent[] {
  const data = {
    count: batch.count,
    byReaction: { [batch.reaction]: batch.count },
    total: added.total,
    totals: added.totals,
    sample: [{ id: user.id, name: user.name }],
  };
  return [{ topic: videoTopic(id), type: 'like', data }];
}
