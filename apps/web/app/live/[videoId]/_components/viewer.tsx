'use client';

import { type ConnectToken, tokenFromWeb } from '@ovation/client';
import { useLiveVideo } from '@ovation/react';
import { MAX_LIKE_BATCH, type TComment, type TUser } from '@ovation/shared';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import Link from 'next/link';
import { useCallback, useEffect, useRef, useState } from 'react';
import { ApiError, api } from '../../../../lib/client/api';
import { queryKeys } from '../../../../lib/client/query-client';
import { newIdempotencyKey, retryOnOutage, useActionKey } from '../../../../lib/client/retry';
import { useStreamGeneration } from '../../../../lib/client/stream-generation';
import { AccountDialog } from '../../../_components/account-dialog';
import { NameDialog } from '../../../_components/name-dialog';
import { CommentFeed } from './comment-feed';
import { Hearts, type HeartsHandle } from './hearts';
import { Player } from './player';

/** Taps are sent together at most this often (the API takes 1–MAX_LIKE_BATCH per request). */
const LIKE_BATCH_MS = 250;

type Pending = { kind: 'like' } | { kind: 'comment'; text: string };

export function Viewer({
  videoId,
  realtimeUrls,
  preferredUrl,
  initialToken,
}: {
  videoId: string;
  realtimeUrls: string[];
  preferredUrl?: string | undefined;
  /** The connection token the page was rendered with. */
  initialToken?: ConnectToken | undefined;
}) {
  const queryClient = useQueryClient();
  const session = useQuery({ queryKey: queryKeys.session, queryFn: api.session });
  const user: TUser | null = session.data?.user ?? null;
  const hearts = useRef<HeartsHandle>(null);
  // The video and its comments, kept current from the video's topic in the query cache.
  const { video, comments, connection } = useLiveVideo(videoId, {
    urls: realtimeUrls,
    load: { video: () => api.video(videoId), comments: () => api.comments(videoId) },
    token: tokenFromWeb({ videoId, current: initialToken }),
    ownUserId: () => user?.id,
    onLikes: (count) => hearts.current?.others(count),
    preferredUrl,
  });
  const streamGeneration = useStreamGeneration(videoId, video.data?.video.stream, video.data !== undefined);
  const [asking, setAsking] = useState<Pending | null>(null);
  /** A comment refused because the broadcaster made comments members-only: sent again once signed in. */
  const [needsAccount, setNeedsAccount] = useState<string | null>(null);
  const [signInError, setSignInError] = useState<string>();
  const [notice, setNotice] = useState<string>();
  const [draft, setDraft] = useState('');
  const taps = useRef(0);
  const tapTimer = useRef<ReturnType<typeof setTimeout> | undefined>(undefined);

  const showError = useCallback((error: unknown) => {
    if (error instanceof ApiError && error.code === 'RATE_LIMITED') {
      setNotice(`Easy there — try again in ${error.retryAfterSeconds ?? 1}s.`);
    } else if (error instanceof ApiError) {
      setNotice(error.message);
    } else {
      setNotice('Something went wrong; please try again.');
    }
  }, []);

  // Each batch of taps is one action with its own key: retried through an outage, counted once.
  const sendLikes = useMutation({
    mutationFn: ({ count, key }: { count: number; key: string }) => api.like(videoId, count, key),
    ...retryOnOutage,
    onSuccess: ({ total }) =>
      queryClient.setQueryData(queryKeys.video(videoId), (old: { video: { likes: number } } | undefined) =>
        old ? { video: { ...old.video, likes: Math.max(old.video.likes, total) } } : old,
      ),
    onError: showError,
  });

  const flushLikes = useCallback(() => {
    tapTimer.current = undefined;
    const count = Math.min(MAX_LIKE_BATCH, taps.current);
    taps.current -= count;
    if (count === 0) return;
    sendLikes.mutate({ count, key: newIdempotencyKey() });
    if (taps.current > 0) tapTimer.current = setTimeout(flushLikes, LIKE_BATCH_MS);
  }, [sendLikes.mutate]);

  useEffect(() => () => clearTimeout(tapTimer.current), []);

  const like = () => {
    if (!user) return setAsking({ kind: 'like' });
    tap();
  };

  const tap = () => {
    hearts.current?.own();
    taps.current++;
    queryClient.setQueryData(queryKeys.video(videoId), (old: { video: { likes: number } } | undefined) =>
      old ? { video: { ...old.video, likes: old.video.likes + 1 } } : old,
    );
    tapTimer.current ??= setTimeout(flushLikes, LIKE_BATCH_MS);
  };

  // A comment's key is made when it is first sent and reused while the same text is retried —
  // automatically through an outage, or by the user pressing Send again after the error showed.
  const commentKeys = useActionKey();
  const postComment = useMutation({
    mutationFn: ({ text, key }: { text: string; key: string }) => api.comment(videoId, text, key),
    ...retryOnOutage,
    onSuccess: ({ comment }, { text }) => {
      commentKeys.done(text);
      setDraft((current) => (current === text ? '' : current));
      addComment(comment);
    },
    onError: (error, { text }) => {
      if (error instanceof ApiError && error.code === 'ACCOUNT_REQUIRED') setNeedsAccount(text);
      else showError(error);
    },
  });

  const post = (text: string) => {
    // The same comment already on its way (a double press): its answer is this one's.
    if (postComment.isPending && postComment.variables?.text === text) return;
    setNotice(undefined);
    postComment.mutate({ text, key: commentKeys.for(text) });
  };

  const send = (text: string) => {
    if (!text.trim()) return;
    if (!user) return setAsking({ kind: 'comment', text });
    post(text);
  };

  /** Shows a comment of one's own at once (unless its realtime event already brought it). */
  const addComment = (comment: TComment) =>
    queryClient.setQueryData(queryKeys.comments(videoId), (old: { comments: TComment[] } | undefined) => {
      const list = old?.comments ?? [];
      return list.some((c) => c.id === comment.id) ? old : { comments: [...list, comment] };
    });

  const signIn = async (name: string) => {
    try {
      const { user: signedIn } = await api.signIn(name);
      queryClient.setQueryData(queryKeys.session, { user: signedIn });
      setSignInError(undefined);
      const pending = asking;
      setAsking(null);
      if (pending?.kind === 'comment') post(pending.text);
    } catch (error) {
      setSignInError(error instanceof ApiError ? error.message : 'Could not sign in');
    }
  };

  if (video.isError) {
    return (
      <p role="alert">
        This video does not exist. <Link href="/">Back to live videos</Link>
      </p>
    );
  }
  const v = video.data?.video;
  const ended = v?.status === 'ended';
  const interrupted = !ended && v?.stream === 'interrupted';

  return (
    <div className="viewer" data-connection={connection.status} data-node={connection.node}>
      <section>
        <div className="stage">
          {/* A new encoder session is a new stream at the same URL: a fresh player for each. */}
          {v && (
            <Player
              key={`${v.hlsUrl}#${streamGeneration}`}
              src={v.hlsUrl}
              ended={ended}
              // A stream from the ingest (an encoder's): played by hls.js, which holds it close to the
              // live edge and knows each frame's time (Chromium's own HLS player left one in five
              // of these at 0 s in CI); it allows any origin, so its pixels can be read.
              measure={v.stream !== undefined}
              crossOrigin={v.stream !== undefined}
            />
          )}
          <Hearts ref={hearts} />
          {ended && <div className="ended-overlay">This live video has ended</div>}
          {interrupted && (
            <div className="ended-overlay" role="status">
              Stream interrupted — waiting for the broadcaster to reconnect
            </div>
          )}
        </div>
        <div className="bar">
          <div>
            <Link href="/" className="brand">
              Ovation
            </Link>{' '}
            {v && <span className={`badge ${v.status}`}>{v.status === 'live' ? 'Live' : v.status}</span>}
            <h1>{v?.title ?? 'Loading…'}</h1>
          </div>
          <div className="counts">
            <span role="status" aria-label="Viewers">
              {v?.viewers ?? 0} watching
            </span>
            <span role="status" aria-label="Likes">
              {v?.likes ?? 0} {v?.likes === 1 ? 'like' : 'likes'}
            </span>
          </div>
          <button type="button" className="like-button" onClick={like} disabled={v?.status !== 'live'}>
            Like
          </button>
        </div>
      </section>
      <aside className="side">
        <CommentFeed comments={comments.data?.comments ?? []} loading={comments.isPending} />
        {notice && (
          <p className="notice" role="alert">
            {notice}
          </p>
        )}
        {postComment.isPending && postComment.failureCount > 0 && (
          <p className="notice" role="status">
            Connection trouble — sending your comment again…
          </p>
        )}
        {v?.membersOnlyComments && (
          <p className="notice members-only">Members-only comments: commenting needs an account.</p>
        )}
        <form
          className="composer"
          onSubmit={(event) => {
            event.preventDefault();
            send(draft);
          }}
        >
          <input
            value={draft}
            onChange={(e) => setDraft(e.target.value)}
            aria-label="Add a comment"
            placeholder={ended ? 'This video has ended' : 'Add a comment'}
            disabled={ended}
          />
          <button type="submit" disabled={ended}>
            Send
          </button>
        </form>
      </aside>
      {needsAccount !== null && (
        <AccountDialog
          why="The broadcaster keeps comments on this video for members: sign in, or create an account with a passkey."
          guestName={user?.name}
          onCancel={() => setNeedsAccount(null)}
          onDone={() => {
            const text = needsAccount;
            setNeedsAccount(null);
            post(text);
          }}
        />
      )}
      {asking && (
        <NameDialog
          error={signInError}
          onCancel={() => setAsking(null)}
          onSubmit={(name) => {
            const pendingLike = asking.kind === 'like';
            void signIn(name).then(() => {
              if (pendingLike) tap();
            });
          }}
        />
      )}
    </div>
  );
}
