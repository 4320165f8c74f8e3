import { liveVideoKeys } from '@ovation/react';
import { QueryClient } from '@tanstack/react-query';

/** The one react-query client factory. Realtime events write into its cache (setQueryData). */
export function createQueryClient(): QueryClient {
  return new QueryClient({
    defaultOptions: {
      queries: { staleTime: 5_000, refetchOnWindowFocus: false, retry: 1 },
    },
  });
}

export const queryKeys = {
  videos: ['videos'] as const,
  // useLiveVideo keeps these two current from the video's topic.
  video: liveVideoKeys.video,
  comments: liveVideoKeys.comments,
  session: ['session'] as const,
  myVideos: ['my-videos'] as const,
  stats: (id: string) => ['stats', id] as const,
  bans: (id: string) => ['bans', id] as const,
  /** Which of a video's commenters are watching it: id → online (the feed's dots). */
  online: (id: string) => ['online', id] as const,
  /** Who is watching a video, page by page (the studio's Watching panel). */
  watchers: (id: string) => ['watchers', id] as const,
};
