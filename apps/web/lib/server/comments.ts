import { AppError, CommentSchema, type TComment, type TPublishEvent, type TUser, videoTopic } from '@ovation/shared';
import { context } from './context';
import { completePublish, onceFor, publishChange, resultOf, runOnce } from './idempotency';
import { findVideo, ownedVideo } from './videos';

/**
 * Stores a comment and publishes it. With an Idempotency-Key, a repeat answers the same comment
 * and stores nothing — and publishes it if the first attempt could not (unless the owner deleted
 * it meanwhile), so it reaches viewers exactly once.
 */
export async function comment(
  user: TUser,
  id: string,
  text: string,
  options: { key?: string | undefined; address: string; member: boolean },
): Promise<TComment> {
  const { limits, store } = context();
  const { key, address, member } = options;
  const video = await findVideo(id);
  const once = onceFor(user.id, key, ['comment', id, text], id);
  return runOnce(
    once,
    async (record) => {
      const first = resultOf(CommentSchema, record);
      await completePublish(commentEvents(first), commentKey(first), () => store.hasComment(id, first.id));
      return first;
    },
    async () => {
      const isOwner = video.ownerId === user.id;
      if (video.membersOnlyComments && !member && !isOwner) {
        throw new AppError(
          'ACCOUNT_REQUIRED',
          'comments on this video are for members: sign in or create an account with a passkey',
        );
      }
      if (await isBarred(id, user, address, isOwner)) {
        throw new AppError('BANNED', 'the broadcaster has stopped you from commenting on this video');
      }
      if (!isOwner && video.ownerName !== '' && foldName(user.name) === foldName(video.ownerName)) {
        throw new AppError(
          'CONFLICT',
          `"${video.ownerName}" is the broadcaster's name in this room; pick another name to comment (POST /api/session)`,
        );
      }
      await limits.comment(user.id, address);
      if (video.status === 'ended') throw new AppError('CONFLICT', 'this video has ended');
      const saved = await store.addComment(id, user, text, once, isOwner);
      // Remembered so that a ban can bar the address too (moderation.ts).
      if (address !== 'unknown') await store.noteAddress(user.id, address);
      if (saved) await publishChange(commentEvents(saved), commentKey(saved), { remember: once !== undefined });
      return saved;
    },
  );
}

/**
 * Banned on this video, or writing from an address a ban barred (a banned user back as a fresh
 * guest). The owner is never barred: they may share an address with someone they banned.
 */
async function isBarred(videoId: string, user: TUser, address: string, isOwner: boolean): Promise<boolean> {
  if (isOwner) return false;
  const { store } = context();
  if (await store.isBanned(videoId, user.id)) return true;
  return address !== 'unknown' && (await store.isAddressBanned(videoId, address));
}

/**
 * A display name as a reader would tell it apart: compatibility-normalised (NFKC: full-width and
 * styled letters become plain), invisible format characters removed, spaces collapsed, case
 * folded. Look-alike letters from other scripts (Cyrillic а for Latin a) are not caught.
 */
export function foldName(name: string): string {
  return (
    name
      .normalize('NFKC')
      .replace(/[\p{Cf}\p{Default_Ignorable_Code_Point}]/gu, '')
      // Letters that show as nothing (Hangul fillers, the braille blank): text.ts counts them as blank too.
      .replace(/[\u115F\u1160\u3164\uFFA0\u2800]/gu, ' ')
      .replace(/\s+/gu, ' ')
      .trim()
      .toLowerCase()
      // A final sigma lowercases to ς where the capital was at the end, σ elsewhere: one letter.
      .replace(/ς/gu, 'σ')
      .normalize('NFKC')
  );
}

export async function listComments(id: string, limit: number): Promise<TComment[]> {
  await findVideo(id);
  return context().store.listComments(id, limit);
}

/**
 * Deletes a comment (owner only) and publishes `comment_deleted`. Retry-safe without a key: the
 * comment id is the key. A repeat within the idempotency window finds the tombstone, answers as
 * the first did, and publishes `comment_deleted` only if the first attempt could not.
 */
export async function deleteComment(user: TUser, id: string, commentId: string): Promise<void> {
  await ownedVideo(user, id);
  const outcome = await context().store.deleteComment(id, commentId);
  if (outcome === 'missing') throw new AppError('NOT_FOUND', `no comment ${commentId.slice(0, 64)} on video ${id}`);
  const events: TPublishEvent[] = [
    { topic: videoTopic(id), type: 'comment_deleted', data: { id: commentId, videoId: id } },
  ];
  const key = `web:comment_deleted:${commentId}`;
  if (outcome === 'deleted') await publishChange(events, key, { remember: true });
  else await completePublish(events, key);
}

function commentEvents(comment: TComment): TPublishEvent[] {
  return [{ topic: videoTopic(comment.videoId), type: 'comment', data: comment }];
}

function commentKey(comment: TComment): string {
  return `web:comment:${comment.id}`;
}
