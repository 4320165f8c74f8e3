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
  video: (id: string) => ['video', id] as const,
  comments: (id: string) => ['comments', id] as const,
  session: ['session'] as const,
  myVideos: ['my-videos'] as const,
  stats: (id: string) => ['stats', id] as const,
  bans: (id: string) => ['bans', id] as const,
};
