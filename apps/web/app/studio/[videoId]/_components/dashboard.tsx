'use client';

import { type OvationEvents, type TypedEvent, tokenFromWeb } from '@ovation/client';
import { useLiveVideo } from '@ovation/react';
import type { TActivityMinute, TUser, TVideo, TVideoStats } from '@ovation/shared';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import Link from 'next/link';
import { useCallback, useEffect, useMemo, useState } from 'react';
import { ApiError, api } from '../../../../lib/client/api';
import { queryKeys } from '../../../../lib/client/query-client';
import { CopyLink } from '../../_components/copy-link';
import { SignInGate } from '../../_components/sign-in-gate';
import { StatusButton } from '../../_components/status-button';
import { addActivity, mergeActivity } from './activity';
import { ActivityChart } from './activity-chart';
import { IngestPanel } from './ingest-panel';
import { Moderation } from './moderation';
import { Watching } from './watching';

/**
 * A video's live dashboard for its owner: viewers (by region), who is watching, like total,
 * delivery latency, likes and comments per minute over 10 minutes, and moderation. Counts move with the same realtime
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
  const queryClient = useQueryClient();
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
  const onEvent = useCallback(
    (event: TypedEvent<OvationEvents>) => {
      // Someone came or left: the Watching list is read again at once.
      if (event.type === 'presence') void queryClient.invalidateQueries({ queryKey: queryKeys.watchers(videoId) });
      const likes = event.type === 'like' ? event.data.count : 0;
      const comments = event.type === 'comment' && !event.replayed ? 1 : 0;
      if (likes > 0 || comments > 0) setLiveAdds((adds) => addActivity(adds, Date.now(), likes, comments));
    },
    [queryClient, videoId],
  );
  const activity = useMemo(() => mergeActivity(stats.data?.activity ?? [], liveAdds), [stats.data, liveAdds]);
  // The realtime stream says the viewer count moved: read the figures again at once, so the total
  // and its per-region split (one read, Tiles) follow it without waiting for the next interval.
  const liveViewers = video.data?.video.viewers;
  useEffect(() => {
    if (liveViewers !== undefined) void queryClient.invalidateQueries({ queryKey: queryKeys.stats(videoId) });
  }, [liveViewers, queryClient, videoId]);
  // Connected once the page knows the user owns the video (the owner's token lets it observe).
  const { connection } = useLiveVideo(videoId, {
    urls: owner ? realtimeUrls : [],
    load: { video: () => api.video(videoId), comments: () => api.comments(videoId) },
    token: tokenFromWeb({ videoId }),
    onEvent,
    observer: true,
  });

  if (video.isError) return <p role="alert">This video does not exist.</p>;
  if (!video.data) return <DashboardSkeleton />;
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
      {/* Moderation comes right after the head: first on a phone, the right-hand column on a wide screen. */}
      <Moderation videoId={videoId} ownerId={user.id} />
      <Tiles video={v} stats={stats.data} />
      <Watching videoId={videoId} ownerId={user.id} />
      <IngestPanel video={v} />
      <section className="charts" aria-label="Activity">
        <ActivityChart title="Likes per minute" data={activity} field="likes" />
        <ActivityChart title="Comments per minute" data={activity} field="comments" />
      </section>
    </div>
  );
}

/** Members-only comments: when on, only accounts may comment (guests are asked to sign in). */
function MembersOnlyToggle({ video }: { video: TVideo }) {
  const queryClient = useQueryClient();
  // The asked state, set in the same render as the click: the mutation's own pending state reaches
  // React a task later, and in between React put the controlled box back as it was.
  const [asked, setAsked] = useState<boolean | null>(null);
  const update = useMutation({
    mutationFn: (on: boolean) => api.updateVideo(video.id, { membersOnlyComments: on }),
    onSuccess: (answer) => queryClient.setQueryData(queryKeys.video(video.id), answer),
    onSettled: () => setAsked(null),
  });
  return (
    <label className="members-only-toggle">
      <input
        type="checkbox"
        // The asked state while the server answers, then the video's.
        checked={asked ?? video.membersOnlyComments === true}
        disabled={asked !== null}
        onChange={(e) => {
          setAsked(e.target.checked);
          update.mutate(e.target.checked);
        }}
      />{' '}
      Members-only comments
      {update.isError && <span role="alert"> {update.error.message}</span>}
    </label>
  );
}

/*
 * "Watching now" and its split by region come from ONE read (the stats' `viewers`, the sum of its
 * regions): shown from two — the realtime stream's count, which the dispatcher publishes once a
 * counting round has summed the regions, and the stats' split, fetched every 10 s — they disagreed
 * for up to 10 s whenever a viewer came or went. The stream still drives it: a new count there
 * refetches the stats (OwnerDashboard). Before the first stats read, the stream's count alone.
 */
function Tiles({ video, stats }: { video: TVideo; stats: TVideoStats | undefined }) {
  const regions = Object.entries(stats?.viewers.byRegion ?? {});
  const watching = stats ? regions.reduce((sum, [, count]) => sum + count, 0) : video.viewers;
  const latency = stats?.latency;
  return (
    <section className="tiles" aria-label="Live figures">
      <section className="panel tile" aria-labelledby="watching-now">
        <span className="label" id="watching-now">
          Watching now
        </span>
        <strong role="status" aria-label="Viewers">
          {watching}
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
      </section>
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

/** The dashboard's shape while the video loads. */
function DashboardSkeleton() {
  return (
    <div className="dashboard" role="status" aria-label="Loading the dashboard">
      <div className="panel skeleton-block tall" />
      <div className="panel skeleton-block" />
      <div className="panel skeleton-block" />
    </div>
  );
}
