import type { TVideo } from '@ovation/shared';
import Link from 'next/link';
import { VideoPoster } from './video-poster';

/** One video on the home page: its picture, title, broadcaster and how many watch it now. */
export function VideoCard({ video }: { video: TVideo }) {
  const titleId = `video-title-${video.id}`;
  return (
    <article className="home-card" aria-labelledby={titleId}>
      <Link className="home-card-link" href={`/live/${video.id}`}>
        <VideoPoster video={video} />
        <h3 id={titleId}>{video.title}</h3>
      </Link>
      {video.ownerName && <p className="home-card-owner">{video.ownerName}</p>}
      <p className="home-card-stats">
        {video.status === 'live' ? (
          <span>{video.viewers === 1 ? '1 watching' : `${video.viewers} watching`}</span>
        ) : (
          <span>Ended</span>
        )}
        <span>{video.likes === 1 ? '1 like' : `${video.likes} likes`}</span>
      </p>
    </article>
  );
}

/** Placeholders the shape of the cards while the list loads. */
export function VideoCardSkeletons({ count = 3 }: { count?: number }) {
  return (
    <div className="home-grid" role="status" aria-label="Loading videos">
      {Array.from({ length: count }, (_, i) => (
        // biome-ignore lint/suspicious/noArrayIndexKey: identical placeholders, never reordered
        <div key={i} className="home-card skeleton" aria-hidden="true">
          <div className="poster" />
          <div className="skeleton-line" />
          <div className="skeleton-line short" />
        </div>
      ))}
    </div>
  );
}
