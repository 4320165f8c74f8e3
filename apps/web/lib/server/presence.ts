import { type TPresenceList, type TUser, videoTopic } from '@ovation/shared';
import { context } from './context';
import { ownedVideo } from './videos';

/*
 * Presence as the product shows it (packages/shared/src/presence.ts): the dispatcher tier knows
 * who is watching; the web asks it, bounding what one client can make it read.
 *
 *   viewer page ── GET /api/presence?users=…&videoId= ──▶ web ── GET /presence/online?users=…&topic=video:<id> ──▶ dispatcher
 *   studio      ── GET /api/videos/:id/presence ───────▶ web ── GET /topics/video:<id>/presence ─────────────▶ dispatcher
 */

/**
 * Whether each account is present: on the video (watching it, not yet left), or without one on
 * any topic. Per address at most presenceLookupsPerAddress a minute; the video is not looked up
 * (an unknown one has no one present).
 */
export async function onlineUsers(
  users: readonly string[],
  videoId: string | undefined,
  address: string,
): Promise<Record<string, boolean>> {
  const { limits, dispatcher } = context();
  await limits.presenceLookup(address);
  return dispatcher.online(users, videoId === undefined ? undefined : videoTopic(videoId));
}

/** Who is watching the owner's video: one page of accounts in id order, with the counts. */
export async function watchers(
  user: TUser,
  videoId: string,
  page: { cursor?: string | undefined; limit: number },
): Promise<TPresenceList> {
  await ownedVideo(user, videoId);
  return context().dispatcher.presence(videoTopic(videoId), page);
}
