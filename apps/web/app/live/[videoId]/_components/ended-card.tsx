'use client';

import { useQuery } from '@tanstack/react-query';
import Link from 'next/link';
import { api } from '../../../../lib/client/api';

/**
 * Over the picture of an ended video: that it ended, and where to go next — another video live
 * now when there is one, and the list of live videos.
 */
export function EndedCard({ videoId }: { videoId: string }) {
  const others = useQuery({ queryKey: ['videos', 'after', videoId], queryFn: api.videos, staleTime: 30_000 });
  const next = others.data?.videos.find((v) => v.status === 'live' && v.id !== videoId);
  return (
    <div className="stage-overlay ended" role="status">
      <p className="overlay-title">This live video has ended</p>
      <p className="overlay-actions">
        {next && (
          <Link className="overlay-button primary" href={`/live/${next.id}`}>
            Up next: {next.title}
          </Link>
        )}
        <Link className="overlay-button" href="/">
          Browse live videos
        </Link>
      </p>
    </div>
  );
}
