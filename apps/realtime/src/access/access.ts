import { AppError } from '@ovation/shared';
import type { ConnectGrant } from '@ovation/shared/connect-token';

/*
 * What one connection may do, decided once when it opens and kept with it, so a later
 * POST /subscribe on the same connection is held to the same grant.
 *
 * - With a connection token: exactly the topics it names; observing only the topics it names for
 *   that (the video's owner), and the viewer is who the token says.
 * - Without one (outside production): a guest on the public topics (PUBLIC_TOPICS), never an observer.
 */
export interface Access {
  /** Who the viewer is, when a token named them (viewer counts count them once per topic). */
  readonly viewerId: string | undefined;
  /** The viewer's name (a session's user, shown in presence); undefined for a guest. */
  readonly viewerName: string | undefined;
  /** When its token expires (ms since the epoch); undefined without a token. */
  readonly expiresAt: number | undefined;
  mayJoin(topic: string): boolean;
  mayObserve(topic: string): boolean;
}

/** PUBLIC_TOPICS: a comma list of topic names, each may end in `*` (a prefix): `video:*,videos`, or `*`. */
export function topicMatcher(patterns: readonly string[]): (topic: string) => boolean {
  const exact = new Set(patterns.filter((p) => !p.endsWith('*')));
  const prefixes = patterns.filter((p) => p.endsWith('*')).map((p) => p.slice(0, -1));
  return (topic) => exact.has(topic) || prefixes.some((prefix) => topic.startsWith(prefix));
}

export function guestAccess(isPublic: (topic: string) => boolean): Access {
  return {
    viewerId: undefined,
    viewerName: undefined,
    expiresAt: undefined,
    mayJoin: isPublic,
    mayObserve: () => false,
  };
}

export function grantedAccess(grant: ConnectGrant & { expiresAt: number }): Access {
  const topics = new Set(grant.topics);
  const observe = new Set(grant.observe);
  return {
    viewerId: grant.viewerId,
    viewerName: grant.name,
    expiresAt: grant.expiresAt,
    mayJoin: (topic) => topics.has(topic) || observe.has(topic),
    mayObserve: (topic) => observe.has(topic),
  };
}

/**
 * Throws 403 naming the first topic the access does not allow (as a viewer, or as an observer),
 * or 401 once its token expired (a later POST /subscribe on a stream opened before).
 */
export function checkTopics(access: Access, topics: readonly string[], observer: boolean, now = Date.now()): void {
  if (access.expiresAt !== undefined && now >= access.expiresAt) {
    throw new AppError('UNAUTHORIZED', 'the connection token has expired; get a new one');
  }
  for (const topic of topics) {
    if (!access.mayJoin(topic)) {
      throw new AppError('FORBIDDEN', `topics: ${topic} is not granted to this connection`);
    }
    if (observer && !access.mayObserve(topic)) {
      throw new AppError('FORBIDDEN', `observer: only the owner of ${topic} may observe it`);
    }
  }
}
