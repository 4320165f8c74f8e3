import type { ConnectToken, TokenSource } from './realtime-client.js';
import type { TopicsTokenSource } from './shared-hub.js';
import { asTokenResponse, type RealtimeTokenResponse } from './wire.js';

/** GET /api/realtime-token answered with an error (or something that is not a token). */
export class TokenRequestError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
    this.name = 'TokenRequestError';
  }
}

export interface WebTokenOptions {
  /** The web tier's origin; default: the page's own (a relative URL). */
  baseUrl?: string;
  /** The video whose topic the token grants (the owner's token also lets the studio observe). */
  videoId?: string | undefined;
  /** Several videos at once (a connection shared by tabs): `videoId=` repeated, at most 63. */
  videoIds?: readonly string[] | undefined;
  /** Default: the global fetch, with the session cookie of a same-origin page. */
  fetch?: (url: string, init: RequestInit) => Promise<Response>;
  /** Extra headers, e.g. a server-side caller's cookie. */
  headers?: Record<string, string>;
}

/** Asks the web tier for a connect token: `{ token, expiresAt, realtimeUrls }`. */
export async function fetchRealtimeToken(options: WebTokenOptions = {}): Promise<RealtimeTokenResponse> {
  const ids = [...(options.videoId === undefined ? [] : [options.videoId]), ...(options.videoIds ?? [])];
  const query = ids.length === 0 ? '' : `?${ids.map((id) => `videoId=${encodeURIComponent(id)}`).join('&')}`;
  const doFetch = options.fetch ?? ((url: string, init: RequestInit) => fetch(url, init));
  const response = await doFetch(`${options.baseUrl ?? ''}/api/realtime-token${query}`, {
    credentials: 'same-origin',
    cache: 'no-store',
    ...(options.headers ? { headers: options.headers } : {}),
  });
  if (!response.ok) throw new TokenRequestError(response.status, `GET /api/realtime-token answered ${response.status}`);
  const body = asTokenResponse(await response.json());
  if (!body) throw new TokenRequestError(response.status, 'GET /api/realtime-token answered without a token');
  return body;
}

/**
 * The client's `token` option backed by the web tier: starts with `current` (the token the page
 * was rendered with) when given, and renews from GET /api/realtime-token. A renewal that fails is
 * retried by the client with its backoff.
 */
export function tokenFromWeb(options: WebTokenOptions & { current?: ConnectToken | undefined } = {}): TokenSource {
  return {
    ...(options.current ? { current: options.current } : {}),
    renew: async () => {
      const { token, expiresAt } = await fetchRealtimeToken(options);
      return { token, expiresAt };
    },
  };
}

const VIDEO_TOPIC_PREFIX = 'video:';

/**
 * A token for a set of topics from the web tier (a shared connection's, see connectShared): one
 * GET /api/realtime-token with a `videoId` per `video:<id>` topic; `videos` is always granted.
 */
export function tokenForTopics(options: Omit<WebTokenOptions, 'videoId' | 'videoIds'> = {}): TopicsTokenSource {
  return async (topics) => {
    const videoIds = topics
      .filter((t) => t.startsWith(VIDEO_TOPIC_PREFIX))
      .map((t) => t.slice(VIDEO_TOPIC_PREFIX.length));
    const { token, expiresAt, topics: granted } = await fetchRealtimeToken({ ...options, videoIds });
    return { token, expiresAt, ...(granted ? { topics: granted } : {}) };
  };
}
