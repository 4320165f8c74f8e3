import { randomUUID } from 'node:crypto';
import { AppError, type TPublishEvent, type TUser, videoTopic } from '@ovation/shared';
import { z } from 'zod';
import { context } from './context';
import { completePublish, onceFor, publishChange, resultOf, runOnce } from './idempotency';
import { findVideo } from './videos';

const LikeResultSchema = z.object({ total: z.number().int(), count: z.number().int().positive() });

/**
 * Adds a batch of a user's like taps and publishes them. With an Idempotency-Key, a repeat
 * answers the first total and counts nothing again — and publishes the batch if the first
 * attempt could not, so viewers count it exactly once.
 */
export async function like(
  user: TUser,
  id: string,
  count: number,
  options: { key?: string | undefined; address: string },
): Promise<{ total: number }> {
  const { key, address } = options;
  const { limits, store } = context();
  const once = onceFor(user.id, key, ['like', id, count], id);
  // Without a key no repeat can find this publish; the key still keeps the client's own
  // failover from one dispatcher to the next from delivering the batch twice.
  const dispatcherKey = `web:like:${once?.scope ?? randomUUID()}`;
  return runOnce(
    once,
    async (record) => {
      const first = resultOf(LikeResultSchema, record);
      await completePublish(likeEvents(user, id, first.count, first.total), dispatcherKey);
      return { total: first.total };
    },
    async () => {
      await limits.like(user.id, count, address);
      const video = await findVideo(id);
      if (video.status !== 'live') throw new AppError('CONFLICT', 'this video is not live');
      const total = await store.addLikes(id, count, once);
      if (total === undefined) return undefined;
      await publishChange(likeEvents(user, id, count, total), dispatcherKey, { remember: once !== undefined });
      return { total };
    },
  );
}

function likeEvents(user: TUser, id: string, count: number, total: number): TPublishEvent[] {
  return [{ topic: videoTopic(id), type: 'like', data: { count, total, sample: [{ id: user.id, name: user.name }] } }];
}
