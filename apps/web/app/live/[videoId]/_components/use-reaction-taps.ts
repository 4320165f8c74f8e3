'use client';

import { highestReactions } from '@ovation/client';
import { MAX_LIKE_BATCH, REACTIONS, type TReaction, type TReactionCounts } from '@ovation/shared';
import { type QueryClient, useMutation, useQueryClient } from '@tanstack/react-query';
import { useCallback, useEffect, useRef } from 'react';
import { api } from '../../../../lib/client/api';
import { queryKeys } from '../../../../lib/client/query-client';
import { newIdempotencyKey, retryOnOutage } from '../../../../lib/client/retry';

/** Taps are sent together at most this often, one request per reaction (1–MAX_LIKE_BATCH taps each). */
const LIKE_BATCH_MS = 250;

type VideoCache = { video: { likes: number; reactions?: TReactionCounts } };

/**
 * The viewer's taps: counted in the cache at once (the total and the reaction's own), then sent in
 * batches — every LIKE_BATCH_MS, one request per reaction tapped meanwhile, each with its own
 * Idempotency-Key (retried through an outage, counted once). The answer's totals never lower
 * what the page shows (other taps may be on their way).
 */
export function useReactionTaps(videoId: string, onError: (error: unknown) => void): (reaction: TReaction) => void {
  const queryClient = useQueryClient();
  const taps = useRef<Map<TReaction, number>>(new Map());
  const timer = useRef<ReturnType<typeof setTimeout> | undefined>(undefined);

  const send = useMutation({
    mutationFn: ({ reaction, count, key }: { reaction: TReaction; count: number; key: string }) =>
      api.like(videoId, count, key, reaction),
    ...retryOnOutage,
    onSuccess: ({ total, totals }) =>
      updateVideo(queryClient, videoId, (video) => ({
        likes: Math.max(video.likes, total),
        reactions: highestReactions(video.reactions, totals),
      })),
    onError,
  });

  const flush = useCallback(() => {
    timer.current = undefined;
    let more = false;
    for (const reaction of REACTIONS) {
      const waiting = taps.current.get(reaction) ?? 0;
      const count = Math.min(MAX_LIKE_BATCH, waiting);
      if (count === 0) continue;
      taps.current.set(reaction, waiting - count);
      more ||= waiting > count;
      send.mutate({ reaction, count, key: newIdempotencyKey() });
    }
    if (more) timer.current = setTimeout(flush, LIKE_BATCH_MS);
  }, [send.mutate]);

  useEffect(() => () => clearTimeout(timer.current), []);

  return useCallback(
    (reaction: TReaction) => {
      taps.current.set(reaction, (taps.current.get(reaction) ?? 0) + 1);
      updateVideo(queryClient, videoId, (video) => ({
        likes: video.likes + 1,
        reactions: { ...video.reactions, [reaction]: (video.reactions?.[reaction] ?? 0) + 1 },
      }));
      timer.current ??= setTimeout(flush, LIKE_BATCH_MS);
    },
    [queryClient, videoId, flush],
  );
}

/** Changes the cached video's like counts (nothing when it is not loaded yet). */
function updateVideo(
  queryClient: QueryClient,
  videoId: string,
  change: (video: VideoCache['video']) => Pick<VideoCache['video'], 'likes' | 'reactions'>,
): void {
  queryClient.setQueryData(queryKeys.video(videoId), (old: VideoCache | undefined) =>
    old ? { ...old, video: { ...old.video, ...change(old.video) } } : old,
  );
}
