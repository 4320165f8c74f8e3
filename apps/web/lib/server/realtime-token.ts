import {
  AppError,
  type ConnectTokenValue,
  randomTag,
  type TRealtimeTokenResponse,
  type TUser,
  videoTopic,
} from '@ovation/shared';
import { ConnectTokens } from '@ovation/shared/connect-token';
import { cookies, headers } from 'next/headers';
import { CLIENT_ADDRESS_HEADER } from './client-address';
import { context } from './context';
import { findVideo, VIDEOS_TOPIC } from './videos';

/*
 * Connection tokens for the realtime tier (packages/shared/src/connect-token): what the page may
 * listen to, signed with CONNECT_TOKEN_SECRET, which every realtime node checks.
 *
 * - Every page may follow the `videos` topic (lists refresh when a video's status changes).
 * - A video's topic: for anyone who has its link, upcoming included (the broadcaster shares the
 *   link before going live, and the page turns live by itself); an unknown video is 404. Lists
 *   never show someone else's upcoming video, so its id is known only from its link.
 * - Observing (listening without being counted, the studio): the owner only.
 * - Nothing else: internal topics are never granted.
 *
 * The viewer is the signed-in user, or a guest id per token (a guest's tabs then count apart).
 */

const holder = globalThis as typeof globalThis & { __ovationConnectTokens?: { secret: string; tokens: ConnectTokens } };

function signer(): ConnectTokens {
  const secret = context().config.connectTokenSecret;
  if (holder.__ovationConnectTokens?.secret !== secret) {
    holder.__ovationConnectTokens = { secret, tokens: new ConnectTokens(secret) };
  }
  return holder.__ovationConnectTokens.tokens;
}

/**
 * A token for `user` (or a new guest from `address`: guests are bounded per address, 429 beyond,
 * since each one counts as a viewer; a user's tokens per user, each reading up to 63 videos).
 */
export async function realtimeToken(
  user: TUser | undefined,
  address: string,
  videoId?: string | readonly string[],
): Promise<TRealtimeTokenResponse> {
  const { limits } = context();
  if (user === undefined) await limits.guestToken(address);
  else await limits.userToken(user.id);
  const topics = [VIDEOS_TOPIC];
  const observe: string[] = [];
  const grant = (video: { id: string; ownerId: string }) => {
    topics.push(videoTopic(video.id));
    if (user !== undefined && video.ownerId === user.id) observe.push(videoTopic(video.id));
  };
  if (typeof videoId === 'string') grant(await findVideo(videoId));
  else if (videoId !== undefined) {
    // Several (a shared connection): an unknown one is left out, not 404 (see the route).
    const found = await Promise.all(videoId.map((id) => findVideo(id).catch(notFoundAsUndefined)));
    for (const video of found) if (video) grant(video);
  }
  // A session's user is named in presence (its name as its comments show it); a guest is counted.
  const viewer = user ? { viewerId: user.id, name: user.name.slice(0, 100) } : { viewerId: `g-${randomTag(10)}` };
  const { token, expiresAt } = signer().sign({ ...viewer, topics, observe });
  return { token, expiresAt, realtimeUrls: [...context().config.realtimeUrls], topics };
}

function notFoundAsUndefined(error: unknown): undefined {
  if (error instanceof AppError && error.code === 'NOT_FOUND') return undefined;
  throw error;
}

/**
 * The token a page is rendered with (server components): for the session's user, if any. A
 * video that does not exist gets none (the page shows its own "not found"); the client asks
 * GET /api/realtime-token when it has none.
 */
export async function pageRealtimeToken(videoId?: string): Promise<ConnectTokenValue | undefined> {
  try {
    // A session store that cannot answer (revocations) must not stop the page: no token then.
    const { sessions } = context();
    const user = await sessions.verify((await cookies()).get(sessions.cookieName)?.value);
    const address = (await headers()).get(CLIENT_ADDRESS_HEADER) ?? 'unknown';
    const { token, expiresAt } = await realtimeToken(user, address, videoId);
    return { token, expiresAt };
  } catch {
    return undefined;
  }
}
