import type { TReactionCounts } from '@ovation/shared';
import Link from 'next/link';
import { describeReactions, ReactionIcon, rankedReactions } from './reactions';

const compact = new Intl.NumberFormat('en', { notation: 'compact', maximumFractionDigits: 1 });

/**
 * The title, the status and the counts under the video (above it on a phone). The counts are not
 * live regions — they change many times a second on a busy stream —, each an image with its words
 * for a screen reader: "12 watching", "4 reactions: 3 Love, 1 Celebrate".
 */
export function VideoInfo({
  video,
}: {
  video?: { title: string; status: string; viewers: number; likes: number; reactions?: TReactionCounts | undefined };
}) {
  return (
    <header className="viewer-info" aria-busy={video === undefined}>
      <p className="info-line">
        <Link href="/" className="brand">
          Ovation
        </Link>
        {video && (
          <span className={`badge ${video.status}`}>
            {video.status === 'live' ? 'Live' : video.status === 'ended' ? 'Ended' : 'Upcoming'}
          </span>
        )}
      </p>
      <h1>
        {video ? (
          video.title
        ) : (
          <>
            <span className="skeleton title-skeleton" aria-hidden="true" />
            <span className="visually-hidden">Loading the video</span>
          </>
        )}
      </h1>
      <p className="counts">
        {video ? (
          <>
            <span className="viewers" role="img" aria-label={`${video.viewers} watching`}>
              {video.status === 'live' && <span className="live-dot" aria-hidden="true" />}
              {compact.format(video.viewers)} watching
            </span>
            <ReactionSummary total={video.likes} counts={video.reactions} />
          </>
        ) : (
          <span className="skeleton counts-skeleton" aria-hidden="true" />
        )}
      </p>
    </header>
  );
}

/** The three most given reactions' icons and the total, as LinkedIn shows them. */
function ReactionSummary({ total, counts }: { total: number; counts: TReactionCounts | undefined }) {
  // From a server that does not count per reaction yet, every reaction is a like.
  const known = counts && Object.keys(counts).length > 0 ? counts : total > 0 ? { like: total } : {};
  const top = rankedReactions(known).slice(0, 3);
  return (
    <span className="reaction-summary" role="img" aria-label={describeReactions(total, known)}>
      {top.length > 0 && (
        <span className="icon-stack">
          {top.map(([reaction]) => (
            <ReactionIcon key={reaction} reaction={reaction} size={20} />
          ))}
        </span>
      )}
      {compact.format(total)} {total === 1 ? 'reaction' : 'reactions'}
    </span>
  );
}
