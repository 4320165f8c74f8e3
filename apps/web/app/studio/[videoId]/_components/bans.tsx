'use client';

import type { TUser } from '@ovation/shared';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { ApiError, api } from '../../../../lib/client/api';
import { queryKeys } from '../../../../lib/client/query-client';
import { retryOnOutage } from '../../../../lib/client/retry';

/**
 * A video's bans and the owner's two actions on them, for every panel that offers them (the
 * moderation log, the Watching list): one query, so a ban from either shows in both.
 */
export function useBans(videoId: string) {
  const queryClient = useQueryClient();
  const list = useQuery({ queryKey: queryKeys.bans(videoId), queryFn: () => api.bans(videoId) });
  // Bans are idempotent by what they name, so each action retries through an outage as is.
  const ban = useMutation({
    mutationFn: (user: TUser) => api.ban(videoId, user),
    ...retryOnOutage,
    onSuccess: () => queryClient.invalidateQueries({ queryKey: queryKeys.bans(videoId) }),
  });
  const unban = useMutation({
    // "Not banned" is what the owner asked for (a retry whose first attempt did it, another tab).
    mutationFn: (userId: string) =>
      api.unban(videoId, userId).catch((error: unknown) => {
        if (error instanceof ApiError && error.code === 'NOT_FOUND') return { unbanned: true as const };
        throw error;
      }),
    ...retryOnOutage,
    onSuccess: () => queryClient.invalidateQueries({ queryKey: queryKeys.bans(videoId) }),
  });
  return { list, banned: new Set(list.data?.bans.map((b) => b.id)), ban, unban };
}

export type Bans = ReturnType<typeof useBans>;

/** Ban beside a user (never beside the owner), "Banned" once they are. */
export function BanAction({ user, ownerId, bans }: { user: TUser; ownerId: string; bans: Bans }) {
  if (user.id === ownerId) return null;
  if (bans.banned.has(user.id)) return <span className="hint">Banned</span>;
  return (
    <button
      type="button"
      className="danger"
      onClick={() => bans.ban.mutate({ id: user.id, name: user.name })}
      disabled={bans.ban.isPending && bans.ban.variables.id === user.id}
      aria-label={`Ban ${user.name}`}
    >
      Ban
    </button>
  );
}
