'use client';

import type { TComment } from '@ovation/shared';
import { useEffect, useLayoutEffect, useRef, useState } from 'react';

/**
 * Newest at the bottom; follows new comments unless the viewer scrolled up, then offers a button.
 * `aria-busy` while the history loads (placeholder lines then, and an empty list says nothing
 * yet); loaded and empty, an invitation to comment. Not a live region: on a busy stream it would
 * read out every comment; the list is there to be read at the viewer's pace.
 */
export function CommentFeed({
  comments,
  loading,
  online = {},
}: {
  comments: TComment[];
  loading: boolean;
  /** Commenters watching now (id → true): their name has a dot, "online" to a screen reader. */
  online?: Record<string, boolean>;
}) {
  const ref = useRef<HTMLOListElement>(null);
  const [following, setFollowing] = useState(true);
  const [unseen, setUnseen] = useState(0);
  const lastCount = useRef(comments.length);

  useLayoutEffect(() => {
    const list = ref.current;
    const added = comments.length - lastCount.current;
    lastCount.current = comments.length;
    if (!list) return;
    if (following) list.scrollTop = list.scrollHeight;
    else if (added > 0) setUnseen((n) => n + added);
  }, [comments, following]);

  useEffect(() => {
    const list = ref.current;
    if (!list) return;
    const onScroll = () => {
      const atBottom = list.scrollHeight - list.scrollTop - list.clientHeight < 24;
      setFollowing(atBottom);
      if (atBottom) setUnseen(0);
    };
    list.addEventListener('scroll', onScroll, { passive: true });
    return () => list.removeEventListener('scroll', onScroll);
  }, []);

  return (
    <div className="feed-box">
      {/* biome-ignore lint/a11y/noNoninteractiveTabindex: the list scrolls, and keyboard users must be able to scroll it */}
      <ol className="feed" ref={ref} aria-label="Comments" aria-busy={loading} tabIndex={0}>
        {comments.map((c) => (
          <li key={c.id}>
            <span className="author">
              {c.author.name}
              {online[c.author.id] && (
                <span className="online-dot" role="img" aria-label="online" title="Watching now" />
              )}
            </span>
            {/* Set by the server only on the video owner's comments: no one can claim it by name. */}
            {c.owner && (
              <span className="owner-badge" title="The broadcaster of this video">
                Broadcaster
              </span>
            )}{' '}
            <span className="text">{c.text}</span>
          </li>
        ))}
      </ol>
      {loading && (
        <div className="feed-skeleton" aria-hidden="true">
          <span className="skeleton" />
          <span className="skeleton" />
          <span className="skeleton short" />
        </div>
      )}
      {!loading && comments.length === 0 && <p className="feed-empty">Be the first to comment</p>}
      {!following && unseen > 0 && (
        <button
          type="button"
          className="new-comments"
          onClick={() => {
            setFollowing(true);
            setUnseen(0);
          }}
        >
          New comments ({unseen})
        </button>
      )}
    </div>
  );
}
