'use client';

import { type ConnectToken, tokenFromWeb, VIDEOS_TOPIC } from '@ovation/client';
import { useTopic } from '@ovation/react';
import type { TVideo } from '@ovation/shared';
import { useQuery, useQueryClient } from '@tanstack/react-query';
import Link from 'next/link';
import { api } from '../../lib/client/api';
import { queryKeys } from '../../lib/client/query-client';
import { VideoCard, VideoCardSkeletons } from './video-card';

/**
 * The home page's lists: videos live now first, then the ended ones in a section of their own. A
 * video going live or ending moves at once (the `videos` topic); viewer counts are refreshed
 * every 5 s with the list.
 */
export function LiveNow({
  realtimeUrls,
  initialToken,
}: {
  realtimeUrls: string[];
  initialToken?: ConnectToken | undefined;
}) {
  const queryClient = useQueryClient();
  const { data, isPending, isError } = useQuery({
    queryKey: queryKeys.videos,
    queryFn: api.videos,
    refetchInterval: 5_000,
  });
  useTopic(VIDEOS_TOPIC, {
    urls: realtimeUrls,
    types: ['status'],
    token: tokenFromWeb({ current: initialToken }),
    onEvent: () => {
      void queryClient.invalidateQueries({ queryKey: queryKeys.videos });
    },
  });
  const live = data?.videos.filter((v) => v.status === 'live') ?? [];
  const ended = data?.videos.filter((v) => v.status === 'ended') ?? [];
  return (
    <>
      <section className="home-section" aria-labelledby="live-now">
        <h2 id="live-now">Live now</h2>
        {isPending ? (
          <VideoCardSkeletons />
        ) : isError && !data ? (
          <p role="alert">Could not load videos. Retrying…</p>
        ) : live.length === 0 ? (
          <p className="home-empty">
            Nothing live right now. <Link href="/studio">Go live</Link>
          </p>
        ) : (
          <VideoGrid videos={live} label="Live now" />
        )}
      </section>
      {ended.length > 0 && (
        <section className="home-section" aria-labelledby="ended">
          <h2 id="ended">Ended</h2>
          <VideoGrid videos={ended} label="Ended" />
        </section>
      )}
    </>
  );
}

function VideoGrid({ videos, label }: { videos: TVideo[]; label: string }) {
  return (
    <ul className="home-grid" aria-label={label}>
      {videos.map((video) => (
        <li key={video.id}>
          <VideoCard video={video} />
        </li>
      ))}
    </ul>
  );
}
