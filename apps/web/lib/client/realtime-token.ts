import { type ConnectTokenValue, RealtimeTokenResponseSchema } from '@ovation/shared';

/**
 * The realtime client's token: the one the page came with (when given) and how to get a new one
 * from GET /api/realtime-token (with the session cookie, so the owner's token lets the studio
 * observe). A renewal that fails is retried by the client with its backoff.
 */
export function realtimeTokenSource(
  videoId: string | undefined,
  current?: ConnectTokenValue,
): { current?: ConnectTokenValue; renew: () => Promise<ConnectTokenValue> } {
  const query = videoId === undefined ? '' : `?videoId=${encodeURIComponent(videoId)}`;
  return {
    ...(current ? { current } : {}),
    renew: async () => {
      const response = await fetch(`/api/realtime-token${query}`, { credentials: 'same-origin', cache: 'no-store' });
      if (!response.ok) throw new Error(`GET /api/realtime-token answered ${response.status}`);
      const { token, expiresAt } = RealtimeTokenResponseSchema.parse(await response.json());
      return { token, expiresAt };
    },
  };
}
