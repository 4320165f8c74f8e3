import type { ConnectToken, TokenSource } from './realtime-client.js';
import type { TopicsTokenSource } from './shared-hub.js';
import { isVideoTopic, MAX_VIDEOS_PER_TOKEN, topicProblem } from './shared-protocol.js';
import { asTokenResponse, type RealtimeTokenResponse } from './wire.js';

/** GET /api/realtime-token answered with an error (or something that is not a token). */
export class TokenRequestError extends Error {
  constructor(
    readonly status: number,
    message: string,
    /** How long the web tier asked to wait (Retry-After of a 429 or 503), in ms. */
    readonly retryAfterMs?: number | undefined,
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
  /**
   * A shared connection's request (`shared=1`): unknown videos are left out of the grant (the
   * answer's `topics` says what was granted) instead of a 404, even with one id.
   */
  shared?: boolean | undefined;
  /** Default: the global fetch, with the session cookie of a same-origin page. */
  fetch?: (url: string, init: RequestInit) => Promise<Response>;
  /** Extra headers, e.g. a server-side caller's cookie. */
  headers?: Record<string, string>;
}

/** Asks the web tier for a connect token: `{ token, expiresAt, realtimeUrls }`. */
export async function fetchRealtimeToken(options: WebTokenOptions = {}): Promise<RealtimeTokenResponse> {
  const ids = [...(options.videoId === undefined ? [] : [options.videoId]), ...(options.videoIds ?? [])];
  const params = [...ids.map((id) => `videoId=${encodeURIComponent(id)}`), ...(options.shared ? ['shared=1'] : [])];
  const query = params.length === 0 ? '' : `?${params.join('&')}`;
  const doFetch = options.fetch ?? ((url: string, init: RequestInit) => fetch(url, init));
  const response = await doFetch(`${options.baseUrl ?? ''}/api/realtime-token${query}`, {
    credentials: 'same-origin',
    cache: 'no-store',
    ...(options.headers ? { headers: options.headers } : {}),
  });
  if (!response.ok) {
    const retryAfter =
      response.status === 429 || response.status === 503
        ? retryAfterMs(response.headers?.get('retry-after'))
        : undefined;
    throw new TokenRequestError(response.status, `GET /api/realtime-token answered ${response.status}`, retryAfter);
  }
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

/** A Retry-After header (seconds, or an HTTP date) in ms; undefined when absent or unreadable. */
export function retryAfterMs(value: string | null | undefined, now = Date.now()): number | undefined {
  if (!value) return undefined;
  const trimmed = value.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed) * 1_000;
  const at = Date.parse(trimmed);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

/**
 * A token for a set of topics from the web tier (a shared connection's, see connectShared): one
 * GET /api/realtime-token?shared=1 with a `videoId` per `video:<id>` topic — only well-formed ids,
 * at most MAX_VIDEOS_PER_TOKEN (the hub refuses the others before it asks) — so an unknown video
 * is left out of the grant rather than failing the request; `videos` is always granted.
 */
export function tokenForTopics(
  options: Omit<WebTokenOptions, 'videoId' | 'videoIds' | 'shared'> = {},
): TopicsTokenSource {
  return async (topics) => {
    const videoIds = [
      ...new Set(topics.filter((t) => isVideoTopic(t) && topicProblem(t) === undefined).map((t) => t.slice(6))),
    ].slice(0, MAX_VIDEOS_PER_TOKEN);
    const answer = await fetchRealtimeToken({ ...options, videoIds, shared: true });
    const { token, expiresAt, topics: granted, realtimeUrls } = answer;
    // The web tier's node list as of now: the hub's next (re)connection uses it (REALTIME_URLS may
    // have changed since the first tab's settings were given).
    return { token, expiresAt, realtimeUrls, ...(granted ? { topics: granted } : {}) };
  };
}
