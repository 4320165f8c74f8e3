'use client';

import { type ConnectToken, tokenFromWeb } from '@ovation/client';
import { useLiveVideo } from '@ovation/react';
import type { TComment, TReaction, TUser } from '@ovation/shared';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import Link from 'next/link';
import { type CSSProperties, useCallback, useRef, useState } from 'react';
import { ApiError, api } from '../../../../lib/client/api';
import { queryKeys } from '../../../../lib/client/query-client';
import { retryOnOutage, useActionKey } from '../../../../lib/client/retry';
import { useStreamGeneration } from '../../../../lib/client/stream-generation';
import { AccountDialog } from '../../../_components/account-dialog';
import { NameDialog } from '../../../_components/name-dialog';
import { CommentFeed } from './comment-feed';
import { ConnectionBanner } from './connection-banner';
import { EndedCard } from './ended-card';
import { FloatingReactions, type FloatingReactionsHandle } from './floating-reactions';
import { Player } from './player';
import { ReactionControls } from './reaction-controls';
import { applyPresenceEvent, useOnline } from './use-online';
import { useReactionTaps } from './use-reaction-taps';
import { useVisualViewportHeight } from './use-visual-viewport';
import { VideoInfo } from './video-info';
import '../../viewer.css';

type Pending = { kind: 'react'; reaction: TReaction } | { kind: 'comment'; text: string };

/*
 * The viewer page's parts, placed by viewer.css: the stage (the picture and what is shown over
 * it), the floating reactions, the title and counts, the reaction controls, the comments and the
 * composer. One DOM for every screen: side by side on a desktop, stacked on a phone with the
 * comments over the lower part of the picture.
 */
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
  // Who the viewer is, once the session is known: a guest who signs in (to comment, to react) is
  // connected again with a token naming them, so presence lists them and their comments' dots show.
  const identity = session.isSuccess ? (user?.id ?? 'guest') : undefined;
  const renderedFor = useRef<string | undefined>(undefined);
  if (identity !== undefined && renderedFor.current === undefined) renderedFor.current = identity;
  const floats = useRef<FloatingReactionsHandle>(null);
  // The video and its comments, kept current from the video's topic in the query cache.
  const { video, comments, connection } = useLiveVideo(videoId, {
    urls: realtimeUrls,
    load: { video: () => api.video(videoId), comments: () => api.comments(videoId) },
    // The page's token is for whom it was rendered: another viewer fetches their own.
    token: tokenFromWeb({ videoId, current: identity === renderedFor.current ? initialToken : undefined }),
    identity,
    ownUserId: () => user?.id,
    onLikes: (_count, byReaction) => floats.current?.others(byReaction),
    onEvent: (event) => applyPresenceEvent(queryClient, videoId, event),
    preferredUrl,
  });
  const online = useOnline(videoId, comments.data?.comments ?? []);
  const streamGeneration = useStreamGeneration(videoId, video.data?.video.stream, video.data !== undefined);
  const root = useVisualViewportHeight<HTMLDivElement>();
  const [aspect, setAspect] = useState<number>();
  const [asking, setAsking] = useState<Pending | null>(null);
  /** Where the focus was when a dialog opened: it goes back there when the dialog closes. */
  const focusBefore = useRef<HTMLElement | null>(null);
  /** A comment refused because the broadcaster made comments members-only: sent again once signed in. */
  const [needsAccount, setNeedsAccount] = useState<string | null>(null);
  const [signInError, setSignInError] = useState<string>();
  const [notice, setNotice] = useState<string>();
  const [draft, setDraft] = useState('');

  const showError = useCallback((error: unknown) => {
    if (error instanceof ApiError && error.code === 'RATE_LIMITED') {
      setNotice(`Easy there — try again in ${error.retryAfterSeconds ?? 1}s.`);
    } else if (error instanceof ApiError) {
      setNotice(error.message);
    } else {
      setNotice('Something went wrong; please try again.');
    }
  }, []);

  const countTap = useReactionTaps(videoId, showError);

  /** The tap shows at once (its icon, the count); the request follows with the batch. */
  const tap = (reaction: TReaction) => {
    floats.current?.own(reaction);
    countTap(reaction);
  };

  const ask = (pending: Pending) => {
    focusBefore.current = document.activeElement instanceof HTMLElement ? document.activeElement : null;
    setAsking(pending);
  };

  const closeDialog = () => {
    setAsking(null);
    // After the dialog is gone (a disabled control cannot take the focus: then the composer).
    requestAnimationFrame(() => focusBefore.current?.focus());
  };

  const react = (reaction: TReaction) => {
    if (!user) return ask({ kind: 'react', reaction });
    tap(reaction);
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
    if (!user) return ask({ kind: 'comment', text });
    post(text);
  };

  /** Shows a comment of one's own at once (unless its realtime event already brought it). */
  const addComment = (comment: TComment) =>
    queryClient.setQueryData(queryKeys.comments(videoId), (old: { comments: TComment[] } | undefined) => {
      const list = old?.comments ?? [];
      return list.some((c) => c.id === comment.id) ? old : { comments: [...list, comment] };
    });

  const signIn = async (name: string, pending: Pending) => {
    try {
      const { user: signedIn } = await api.signIn(name);
      queryClient.setQueryData(queryKeys.session, { user: signedIn });
      setSignInError(undefined);
      closeDialog();
      if (pending.kind === 'comment') post(pending.text);
      else tap(pending.reaction);
    } catch (error) {
      setSignInError(error instanceof ApiError ? error.message : 'Could not sign in');
    }
  };

  if (video.isError) {
    // Gone since the page was served (the server answers an unknown video with the 404 page).
    return (
      <div className="viewer-gone" role="alert">
        <h1>This video is no longer available</h1>
        <Link href="/">Browse live videos</Link>
      </div>
    );
  }
  const v = video.data?.video;
  const ended = v?.status === 'ended';
  const interrupted = !ended && v?.stream === 'interrupted';

  return (
    <div
      className="viewer"
      ref={root}
      data-connection={connection.status}
      data-node={connection.node}
      style={aspect ? ({ '--aspect': String(aspect) } as CSSProperties) : undefined}
    >
      <div className="stage" aria-busy={v === undefined}>
        {/* A new encoder session is a new stream at the same URL: a fresh player for each. */}
        {v ? (
          <Player
            key={`${v.hlsUrl}#${streamGeneration}`}
            src={v.hlsUrl}
            ended={ended}
            // A stream from the ingest (an encoder's): played by hls.js, which holds it close to the
            // live edge and knows each frame's time (Chromium's own HLS player left one in five
            // of these at 0 s in CI); it allows any origin, so its pixels can be read.
            measure={v.stream !== undefined}
            crossOrigin={v.stream !== undefined}
            onAspect={setAspect}
          />
        ) : (
          <div className="skeleton stage-skeleton" aria-hidden="true" />
        )}
        {ended && <EndedCard videoId={videoId} />}
        {interrupted && (
          <div className="stage-overlay" role="status">
            <p className="overlay-title">Stream interrupted</p>
            <p>Waiting for the broadcaster to reconnect…</p>
          </div>
        )}
        <ConnectionBanner status={connection.status} />
      </div>
      <FloatingReactions ref={floats} />
      <VideoInfo video={v} />
      <div className="viewer-react">
        <ReactionControls onReact={react} disabled={v?.status !== 'live'} />
      </div>
      <section className="viewer-chat" aria-label="Live chat">
        <CommentFeed comments={comments.data?.comments ?? []} loading={comments.isPending} online={online} />
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
      </section>
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
          placeholder={ended ? 'This video has ended' : 'Add a comment…'}
          disabled={ended}
          enterKeyHint="send"
        />
        <button type="submit" disabled={ended}>
          Send
        </button>
      </form>
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
        <NameDialog error={signInError} onCancel={closeDialog} onSubmit={(name) => void signIn(name, asking)} />
      )}
    </div>
  );
}
