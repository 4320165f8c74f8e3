'use client';

import type { TVideo } from '@ovation/shared';
import { useMutation, useQueryClient } from '@tanstack/react-query';
import { ApiError, api } from '../../../lib/client/api';
import { queryKeys } from '../../../lib/client/query-client';
import { retryOnOutage } from '../../../lib/client/retry';

/** "Go live" for an upcoming video, "End live video" for a live one; nothing once it ended. */
export function StatusButton({ video }: { video: TVideo }) {
  const queryClient = useQueryClient();
  const change = useMutation({
    mutationFn: () => (video.status === 'live' ? api.end(video.id) : api.start(video.id)),
    // Start and end are idempotent (a repeat publishes the status only if it had not gone out).
    ...retryOnOutage,
    onSuccess: ({ video: changed }) => {
      queryClient.setQueryData(queryKeys.video(video.id), (old: { video: TVideo } | undefined) =>
        old ? { video: { ...old.video, status: changed.status } } : old,
      );
      void queryClient.invalidateQueries({ queryKey: queryKeys.myVideos });
    },
  });
  if (video.status === 'ended') return null;
  const live = video.status === 'live';
  return (
    <>
      <button
        type="button"
        className={live ? 'danger' : 'primary'}
        disabled={change.isPending}
        aria-label={live ? `End live video ${video.title}` : `Go live with ${video.title}`}
        onClick={() => {
          if (!live || window.confirm(`End “${video.title}” for every viewer?`)) change.mutate();
        }}
      >
        {live ? 'End live video' : 'Go live'}
      </button>
      {change.isError && (
        <span role="alert">
          {change.error instanceof ApiError ? change.error.message : 'Could not change the status'}
        </span>
      )}
    </>
  );
}
