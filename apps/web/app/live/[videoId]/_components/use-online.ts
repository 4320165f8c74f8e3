'use client';

import type { OvationEvents, TypedEvent } from '@ovation/client';
import { MAX_PRESENCE_USERS, type TComment } from '@ovation/shared';
import { type QueryClient, useQuery, useQueryClient } from '@tanstack/react-query';
import { useEffect, useRef, useState } from 'react';
import { api } from '../../../../lib/client/api';
import { queryKeys } from '../../../../lib/client/query-client';

/*
 * Which commenters are still here (the feed's online dots), kept in the query cache:
 *
 *   the feed's authors change ── at most every MIN_GAP_MS ──▶ GET /api/presence?users=…&videoId= ─┐
 *   `presence` events on the video's stream: joined → online, left → offline ──────────────────────┼─▶ queryKeys.online
 *   a `snapshot` on it (presence events missed while away are not replayed): ask again ────────────┘
 *
 * An answer asked before an event about the same person arrived is older than it: the event wins.
 */

/** Authors are asked about this long after the feed's changed (what comes meanwhile goes with it)… */
const DEBOUNCE_MS = 500;
/** …and never sooner than this after the previous ask (a busy feed asks every few seconds). */
const MIN_GAP_MS = 3000;

export interface OnlineData {
  online: Record<string, boolean>;
  /** When an event last said something of each user (ms): an answer asked before it is stale for them. */
  heardAt: Record<string, number>;
  /** Raised by an event that did not name everyone (`more`): the hook asks again. */
  asks: number;
}

const NONE: OnlineData = { online: {}, heardAt: {}, asks: 0 };

/**
 * A `presence` event of the video's stream into the cache; a `snapshot` (a reconnect, or a gap
 * repaired: presence events are not replayed, so some may have been missed) asks again. Anything
 * else: nothing.
 */
export function applyPresenceEvent(queryClient: QueryClient, videoId: string, event: TypedEvent<OvationEvents>): void {
  if (event.type === 'snapshot') {
    queryClient.setQueryData<OnlineData>(queryKeys.online(videoId), (old = NONE) => ({ ...old, asks: old.asks + 1 }));
    return;
  }
  if (event.type !== 'presence') return;
  const { joined, left, more } = event.data;
  const now = Date.now();
  queryClient.setQueryData<OnlineData>(queryKeys.online(videoId), (old = NONE) => {
    const online = { ...old.online };
    const heardAt = { ...old.heardAt };
    for (const { id } of joined) [online[id], heardAt[id]] = [true, now];
    for (const { id } of left) [online[id], heardAt[id]] = [false, now];
    const unnamed = more !== undefined && more.joined + more.left > 0;
    return { online, heardAt, asks: old.asks + (unnamed ? 1 : 0) };
  });
}

/**
 * Whether each of the feed's commenters (the latest MAX_PRESENCE_USERS) is watching the video:
 * id → true/false, or absent while unknown.
 */
export function useOnline(videoId: string, comments: readonly TComment[]): Record<string, boolean> {
  const queryClient = useQueryClient();
  const { data } = useQuery({
    queryKey: queryKeys.online(videoId),
    // Written by the asks below and by events only.
    queryFn: () => NONE,
    initialData: NONE,
    enabled: false,
  });
  const authors = [...new Set(comments.map((c) => c.author.id).reverse())].slice(0, MAX_PRESENCE_USERS).sort();
  const wanted = authors.length > 0 ? `${authors.join(',')}#${data.asks}` : '';
  const ask = useThrottled(wanted, DEBOUNCE_MS, MIN_GAP_MS);

  useEffect(() => {
    if (!ask) return;
    const users = (ask.split('#')[0] ?? '').split(',');
    const askedAt = Date.now();
    let current = true;
    api.online(users, videoId).then(
      ({ online }) => {
        if (!current) return;
        queryClient.setQueryData<OnlineData>(queryKeys.online(videoId), (old = NONE) => {
          const merged = { ...old.online };
          for (const [id, here] of Object.entries(online)) {
            if ((old.heardAt[id] ?? 0) < askedAt) merged[id] = here;
          }
          return { ...old, online: merged };
        });
      },
      // No answer (the tier is down, a limit): the dots stay as they were; the next change asks again.
      () => {},
    );
    return () => {
      current = false;
    };
  }, [ask, videoId, queryClient]);

  return data.online;
}

/**
 * `value` as it was `debounceMs` after it changed, at most once per `gapMs`: changes meanwhile join
 * the pending one (the latest value goes), so a feed that never pauses is still asked.
 */
function useThrottled(value: string, debounceMs: number, gapMs: number): string {
  const [shown, setShown] = useState('');
  const latest = useRef(value);
  latest.current = value;
  const last = useRef(0);
  const timer = useRef<ReturnType<typeof setTimeout> | undefined>(undefined);

  useEffect(() => {
    if (value === shown || timer.current !== undefined) return;
    const wait = Math.max(debounceMs, last.current + gapMs - Date.now());
    timer.current = setTimeout(() => {
      timer.current = undefined;
      last.current = Date.now();
      setShown(latest.current);
    }, wait);
  }, [value, shown, debounceMs, gapMs]);

  useEffect(
    () => () => {
      clearTimeout(timer.current);
      timer.current = undefined;
    },
    [],
  );
  return shown;
}
