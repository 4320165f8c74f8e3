'use client';

import type { TPresenceViewer } from '@ovation/shared';
import { useInfiniteQuery } from '@tanstack/react-query';
import { useEffect, useState } from 'react';
import { ApiError, api } from '../../../../lib/client/api';
import { queryKeys } from '../../../../lib/client/query-client';
import { BanAction, useBans } from './bans';

/** The list is read again this often (and at once on every `presence` event: OwnerDashboard). */
const REFRESH_MS = 10_000;

/**
 * Who is watching: the signed-in viewers by name with how long they have been here, Ban beside
 * each (as in the moderation log), and the counts of accounts and guests (never named). Pages of
 * 50, "Show more" for the next; every page shown is read again on refresh.
 */
export function Watching({ videoId, ownerId }: { videoId: string; ownerId: string }) {
  const watchers = useInfiniteQuery({
    queryKey: queryKeys.watchers(videoId),
    queryFn: ({ pageParam }) => api.watchers(videoId, pageParam),
    initialPageParam: undefined as string | undefined,
    getNextPageParam: (last) => last.next ?? undefined,
    refetchInterval: REFRESH_MS,
    retry: (count, error) => !(error instanceof ApiError && error.status < 500) && count < 2,
  });
  const bans = useBans(videoId);
  const now = useNow(REFRESH_MS);
  const first = watchers.data?.pages[0];
  // Pages follow one another by id, so one id is on one page; a refresh between pages may still
  // move someone across a boundary: shown once.
  const viewers = [...new Map(watchers.data?.pages.flatMap((p) => p.viewers.map((v) => [v.id, v]))).values()];
  return (
    <section className="panel watching" aria-labelledby="watching-title">
      <h2 id="watching-title">Watching</h2>
      {first && (
        <p className="watching-counts">
          {plural(first.count, 'signed-in viewer')} · {plural(first.guests, 'guest')}
        </p>
      )}
      {watchers.isPending && <p className="hint">Loading who is watching…</p>}
      {watchers.isError && !first && <p role="alert">Cannot tell who is watching right now; trying again.</p>}
      {bans.ban.error && (
        <p role="alert">
          {bans.ban.error instanceof ApiError ? bans.ban.error.message : 'That did not work; try again.'}
        </p>
      )}
      {first && viewers.length === 0 && <p className="hint">No signed-in viewers right now.</p>}
      <ul aria-labelledby="watching-title" className="watching-list">
        {viewers.map((v) => (
          <li key={v.id}>
            <span className="author">{v.name}</span>
            <Since viewer={v} now={now} />
            <span className="actions">
              <BanAction user={v} ownerId={ownerId} bans={bans} />
            </span>
          </li>
        ))}
      </ul>
      {watchers.hasNextPage && (
        <button type="button" onClick={() => void watchers.fetchNextPage()} disabled={watchers.isFetchingNextPage}>
          Show more
        </button>
      )}
    </section>
  );
}

function Since({ viewer, now }: { viewer: TPresenceViewer; now: number }) {
  return (
    <time className="hint" dateTime={viewer.since} title={new Date(viewer.since).toLocaleString()}>
      joined {relative(Date.parse(viewer.since), now)}
    </time>
  );
}

const format = new Intl.RelativeTimeFormat('en', { numeric: 'auto' });

/** "now", "40 seconds ago", "5 minutes ago", "2 hours ago". */
export function relative(at: number, now: number): string {
  const seconds = Math.max(0, Math.round((now - at) / 1000));
  if (seconds < 10) return format.format(0, 'second');
  if (seconds < 60) return format.format(-seconds, 'second');
  if (seconds < 3600) return format.format(-Math.floor(seconds / 60), 'minute');
  return format.format(-Math.floor(seconds / 3600), 'hour');
}

function plural(n: number, what: string): string {
  return `${n} ${what}${n === 1 ? '' : 's'}`;
}

/** The time, ticking every `everyMs` (relative times move on between refreshes that change nothing). */
function useNow(everyMs: number): number {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    const timer = setInterval(() => setNow(Date.now()), everyMs);
    return () => clearInterval(timer);
  }, [everyMs]);
  return now;
}
