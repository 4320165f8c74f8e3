'use client';

import { type ConnectToken, tokenFromWeb, VIDEOS_TOPIC } from '@ovation/client';
import { useTopic } from '@ovation/react';
import { useQuery, useQueryClient } from '@tanstack/react-query';
import Link from 'next/link';
import { api } from '../../lib/client/api';
import { queryKeys } from '../../lib/client/query-client';

/** Live and ended videos; a video going live or ending shows at once (the `videos` topic). */
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
  if (isPending) return <p>Loading…</p>;
  if (isError) return <p role="alert">Could not load videos. Retrying…</p>;
  const videos = data.videos.filter((v) => v.status !== 'upcoming');
  if (videos.length === 0) return <p>Nothing live right now.</p>;
  return (
    <ul className="video-grid">
      {videos.map((video) => (
        <li key={video.id}>
          <Link className="video-card" href={`/live/${video.id}`}>
            <span className={`badge ${video.status}`}>{video.status === 'live' ? 'Live' : 'Ended'}</span>
            <h2>{video.title}</h2>
            <span className="stats">
              <span>{video.viewers} watching</span>
              <span>{video.likes} likes</span>
            </span>
          </Link>
        </li>
      ))}
    </ul>
  );
}
