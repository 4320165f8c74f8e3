'use client';

import { type OvationEvents, type TypedEvent, tokenFromWeb } from '@ovation/client';
import { useLiveVideo } from '@ovation/react';
import type { TActivityMinute, TComment, TUser, TVideo, TVideoStats } from '@ovation/shared';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import Link from 'next/link';
import { useCallback, useEffect, useMemo, useState } from 'react';
import { ApiError, api } from '../../../../lib/client/api';
import { queryKeys } from '../../../../lib/client/query-client';
import { retryOnOutage } from '../../../../lib/client/retry';
import { CopyLink } from '../../_components/copy-link';
import { SignInGate } from '../../_components/sign-in-gate';
import { StatusButton } from '../../_components/status-button';
import { addActivity, mergeActivity } from './activity';
import { ActivityChart } from './activity-chart';
import { IngestPanel } from './ingest-panel';

/**
 * A video's live dashboard for its owner: viewers (by region), like total, delivery latency, likes
 * and comments per minute over 10 minutes, and moderation. Counts move with the same realtime
 * stream the viewers get; the per-region split and latency are refreshed from the API.
 */
export function Dashboard({ videoId, realtimeUrls }: { videoId: string; realtimeUrls: string[] }) {
  return (
    <>
      <header className="bar">
        <Link href="/" className="brand">
          Ovation
        </Link>
        <Link href="/studio">Studio</Link>
      </header>
      <SignInGate why="Sign in with your account to open your studio.">
        {(user) => <OwnerDashboard videoId={videoId} realtimeUrls={realtimeUrls} user={user} />}
      </SignInGate>
    </>
  );
}

function OwnerDashboard({ videoId, realtimeUrls, user }: { videoId: string; realtimeUrls: string[]; user: TUser }) {
  const stats = useQuery({
    queryKey: queryKeys.stats(videoId),
    queryFn: () => api.stats(videoId),
    refetchInterval: 10_000,
    retry: (count, error) => !(error instanceof ApiError && error.status < 500) && count < 2,
  });
  const video = useQuery({ queryKey: queryKeys.video(videoId), queryFn: () => api.video(videoId) });
  const owner = video.data?.video.ownerId === user.id;

  // Likes and comments seen live since the last stats fetch, added to its per-minute activity.
  // (Kept apart from the query's data: writing into it on every event would keep restarting
  // react-query's refetch interval.)
  const [liveAdds, setLiveAdds] = useState<TActivityMinute[]>([]);
  useEffect(() => {
    if (stats.dataUpdatedAt) setLiveAdds([]);
  }, [stats.dataUpdatedAt]);
  const onEvent = useCallback((event: TypedEvent<OvationEvents>) => {
    const likes = event.type === 'like' ? event.data.count : 0;
    const comments = event.type === 'comment' && !event.replayed ? 1 : 0;
    if (likes > 0 || comments > 0) setLiveAdds((adds) => addActivity(adds, Date.now(), likes, comments));
  }, []);
  const activity = useMemo(() => mergeActivity(stats.data?.activity ?? [], liveAdds), [stats.data, liveAdds]);
  // Connected once the page knows the user owns the video (the owner's token lets it observe).
  const { connection } = useLiveVideo(videoId, {
    urls: owner ? realtimeUrls : [],
    load: { video: () => api.video(videoId), comments: () => api.comments(videoId) },
    token: tokenFromWeb({ videoId }),
    onEvent,
    observer: true,
  });

  if (video.isError) return <p role="alert">This video does not exist.</p>;
  if (!video.data) return <p>Loading…</p>;
  if (!owner || (stats.error instanceof ApiError && stats.error.status === 403)) {
    return <p role="alert">Only the broadcaster of this video can open its studio.</p>;
  }
  const v = video.data.video;
  return (
    <div className="dashboard" data-connection={connection.status}>
      <section className="panel dashboard-head">
        <div>
          <span className={`badge ${v.status}`}>{v.status}</span>
          <h1>{v.title}</h1>
        </div>
        <div className="actions">
          <StatusButton video={v} />
          <CopyLink videoId={v.id} title={v.title} />
          <Link href={`/live/${v.id}`}>Viewer page</Link>
        </div>
        <MembersOnlyToggle video={v} />
      </section>
      <IngestPanel video={v} />
      <Tiles video={v} stats={stats.data} />
      <section className="charts">
        <ActivityChart title="Likes per minute" data={activity} field="likes" />
        <ActivityChart title="Comments per minute" data={activity} field="comments" />
      </section>
      <Moderation videoId={videoId} ownerId={user.id} />
    </div>
  );
}

/** Members-only comments: when on, only accounts may comment (guests are asked to sign in). */
function MembersOnlyToggle({ video }: { video: TVideo }) {
  const queryClient = useQueryClient();
  const update = useMutation({
    mutationFn: (on: boolean) => api.updateVideo(video.id, { membersOnlyComments: on }),
    onSuccess: (answer) => queryClient.setQueryData(queryKeys.video(video.id), answer),
  });
  return (
    <label className="members-only-toggle">
      <input
        type="checkbox"
        // The asked state while the server answers, then the video's.
        checked={update.isPending ? update.variables : video.membersOnlyComments === true}
        disabled={update.isPending}
        onChange={(e) => update.mutate(e.target.checked)}
      />{' '}
      Members-only comments
      {update.isError && <span role="alert"> {update.error.message}</span>}
    </label>
  );
}

function Tiles({ video, stats }: { video: TVideo; stats: TVideoStats | undefined }) {
  const regions = Object.entries(stats?.viewers.byRegion ?? {});
  const latency = stats?.latency;
  return (
    <section className="tiles" aria-label="Live figures">
      <div className="panel tile">
        <span className="label">Watching now</span>
        <strong role="status" aria-label="Viewers">
          {video.viewers}
        </strong>
        {regions.length > 0 && (
          <ul className="regions" aria-label="Viewers by region">
            {regions.map(([region, count]) => (
              <li key={region}>
                {region}: {count}
              </li>
            ))}
          </ul>
        )}
      </div>
      <div className="panel tile">
        <span className="label">Likes</span>
        <strong role="status" aria-label="Likes">
          {video.likes}
        </strong>
      </div>
      <div className="panel tile latency">
        <span className="label">Delivery latency (last minute)</span>
        <strong>
          {latency && latency.count > 0 ? `p50 ${latency.p50} ms · p99 ${latency.p99} ms` : 'no samples yet'}
        </strong>
        {latency && latency.count > 0 && <span className="hint">{latency.count} samples from viewers</span>}
      </div>
    </section>
  );
}

function Moderation({ videoId, ownerId }: { videoId: string; ownerId: string }) {
  const queryClient = useQueryClient();
  const comments = useQuery({ queryKey: queryKeys.comments(videoId), queryFn: () => api.comments(videoId) });
  const bans = useQuery({ queryKey: queryKeys.bans(videoId), queryFn: () => api.bans(videoId) });
  const banned = new Set(bans.data?.bans.map((b) => b.id));
  // Moderation is idempotent by what it names, so each action retries through an outage as is.
  const remove = useMutation({
    mutationFn: (comment: TComment) => api.deleteComment(videoId, comment.id),
    ...retryOnOutage,
    onSuccess: (_, comment) =>
      queryClient.setQueryData<{ comments: TComment[] }>(queryKeys.comments(videoId), (old) =>
        old ? { comments: old.comments.filter((c) => c.id !== comment.id) } : old,
      ),
  });
  const ban = useMutation({
    mutationFn: (user: TUser) => api.ban(videoId, user),
    ...retryOnOutage,
    onSuccess: () => queryClient.invalidateQueries({ queryKey: queryKeys.bans(videoId) }),
  });
  const unban = useMutation({
    // "Not banned" is what the owner asked for (a retry whose first attempt did it, another tab).
    mutationFn: (userId: string) =>
      api.unban(videoId, userId).catch((error: unknown) => {
        if (error instanceof ApiError && error.code === 'NOT_FOUND') return { unbanned: true as const };
        throw error;
      }),
    ...retryOnOutage,
    onSuccess: () => queryClient.invalidateQueries({ queryKey: queryKeys.bans(videoId) }),
  });
  const error = [remove.error, ban.error, unban.error].find((e) => e);
  const recent = [...(comments.data?.comments ?? [])].reverse();
  return (
    <section className="panel moderation" aria-label="Moderation">
      <h2>Recent comments</h2>
      {error && <p role="alert">{error instanceof ApiError ? error.message : 'That did not work; try again.'}</p>}
      {recent.length === 0 && <p className="hint">No comments yet.</p>}
      <ul aria-label="Recent comments">
        {recent.map((c) => (
          <li key={c.id}>
            <span className="author">{c.author.name}</span>
            <span className="text">{c.text}</span>
            <span className="actions">
              <button type="button" onClick={() => remove.mutate(c)} aria-label={`Delete comment “${c.text}”`}>
                Delete
              </button>
              {c.author.id !== ownerId && !banned.has(c.author.id) && (
                <button
                  type="button"
                  className="danger"
                  onClick={() => ban.mutate(c.author)}
                  aria-label={`Ban ${c.author.name}`}
                >
                  Ban
                </button>
              )}
            </span>
          </li>
        ))}
      </ul>
      {(bans.data?.bans.length ?? 0) > 0 && (
        <>
          <h2>Banned from commenting</h2>
          <ul aria-label="Banned users">
            {bans.data?.bans.map((b) => (
              <li key={b.id}>
                <span className="author">{b.name}</span>
                <button type="button" onClick={() => unban.mutate(b.id)} aria-label={`Unban ${b.name}`}>
                  Unban
                </button>
              </li>
            ))}
          </ul>
        </>
      )}
    </section>
  );
}
