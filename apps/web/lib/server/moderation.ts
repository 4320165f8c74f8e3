import { AppError, type TBanRequest, type TUser } from '@ovation/shared';
import { context } from './context';
import { ownedVideo } from './videos';

/*
 * Bans (owner only). Both are retry-safe as they are: a repeated ban answers the same ban, a
 * repeated unban 404 "not banned" — the state the owner asked for (the studio takes it as done).
 */

/** Users one video may ban (the list is loaded whole by the studio). */
export const MAX_BANS_PER_VIDEO = 1000;

/** Bars a user from commenting on the owner's video. */
export async function ban(user: TUser, id: string, target: TBanRequest): Promise<TUser> {
  await ownedVideo(user, id);
  if (target.userId === user.id) throw new AppError('VALIDATION_FAILED', 'body.userId: you cannot ban yourself');
  const { store } = context();
  const bans = await store.listBans(id);
  if (bans.length >= MAX_BANS_PER_VIDEO && !bans.some((b) => b.id === target.userId)) {
    throw new AppError('CONFLICT', `a video can ban at most ${MAX_BANS_PER_VIDEO} users; unban someone first`);
  }
  const banned = { id: target.userId, name: target.name };
  // Their recent addresses (sign-in, comments) are barred from commenting here for an hour too:
  // coming back as a fresh guest from the same place does not lift the ban (store.ts BAN_ADDRESS_TTL_MS).
  await store.ban(id, banned, await store.recentAddresses(target.userId));
  return banned;
}

export async function unban(user: TUser, id: string, userId: string): Promise<void> {
  await ownedVideo(user, id);
  if (!(await context().store.unban(id, userId))) {
    throw new AppError('NOT_FOUND', `user ${userId.slice(0, 64)} is not banned from video ${id}`);
  }
}

export async function listBans(user: TUser, id: string): Promise<TUser[]> {
  await ownedVideo(user, id);
  return context().store.listBans(id);
}
