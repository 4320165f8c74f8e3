'use client';

import {
  type ConnectTokenValue,
  RealtimeClient,
  type TComment,
  type TEventEnvelope,
  type TVideo,
  videoTopic,
} from '@ovation/shared';
import { useQueryClient } from '@tanstack/react-query';
import { useEffect, useRef, useState } from 'react';
import { queryKeys } from './query-client';
import { realtimeTokenSource } from './realtime-token';

const EVENT_TYPES = ['snapshot', 'like', 'comment', 'comment_deleted', 'viewers', 'status'];

/**
 * Connects the page to the video's topic and writes every event into the react-query cache
 * (no second store): likes raise the total, comments append, deletions remove, `viewers`,
 * `status` and `snapshot` (the state on joining or resuming) update the video. `onLikes` gets
 * other viewers' like counts, for the hearts.
 */
export function useVideoRealtime(
  videoId: string,
  realtimeUrls: string[],
  options: {
    ownUserId: () => string | undefined;
    onLikes: (count: number) => void;
    /** Every event, after the cache was updated (the studio counts activity from it). */
    onEvent?: (event: TEventEnvelope) => void;
    /** Listen without counting as a viewer (the studio). */
    observer?: boolean;
    /** Node to connect to first (`/live/<id>?node=<index>`). */
    preferredUrl?: string | undefined;
    /** The connection token the page came with; renewed from GET /api/realtime-token when due. */
    initialToken?: ConnectTokenValue | undefined;
  },
) {
  const queryClient = useQueryClient();
  const [connection, setConnection] = useState<{ status: string; node?: string }>({ status: 'connecting' });
  const optionsRef = useRef(options);
  optionsRef.current = options;

  const urls = realtimeUrls.join(',');
  useEffect(() => {
    if (!urls) return;
    const updateVideo = (change: (video: TVideo) => TVideo) =>
      queryClient.setQueryData<{ video: TVideo }>(queryKeys.video(videoId), (old) =>
        old ? { video: change(old.video) } : old,
      );

    const onEvent = (event: TEventEnvelope) => {
      const data = event.data as Record<string, unknown>;
      switch (event.type) {
        case 'like': {
          const count = typeof data.count === 'number' ? data.count : 1;
          const total = typeof data.total === 'number' ? data.total : undefined;
          updateVideo((v) => ({ ...v, likes: total !== undefined ? Math.max(total, v.likes) : v.likes + count }));
          const sample = Array.isArray(data.sample) ? (data.sample as Array<{ id?: string }>) : [];
          const me = optionsRef.current.ownUserId();
          // The viewer's own taps already showed their hearts.
          if (!(me && sample.length > 0 && sample.every((s) => s.id === me))) optionsRef.current.onLikes(count);
          break;
        }
        case 'comment':
          queryClient.setQueryData<{ comments: TComment[] }>(queryKeys.comments(videoId), (old) => {
            const comment = data as unknown as TComment;
            const comments = old?.comments ?? [];
            if (comments.some((c) => c.id === comment.id)) return old;
            return { comments: [...comments, comment].slice(-200) };
          });
          break;
        case 'comment_deleted':
          queryClient.setQueryData<{ comments: TComment[] }>(queryKeys.comments(videoId), (old) =>
            old ? { comments: old.comments.filter((c) => c.id !== data.id) } : old,
          );
          break;
        case 'snapshot': {
          // The topic's state as the connection (re)joined it: take it as it is.
          const status = data.status === 'live' || data.status === 'ended' ? data.status : undefined;
          updateVideo((v) => ({
            ...v,
            ...(typeof data.viewers === 'number' ? { viewers: data.viewers } : {}),
            ...(typeof data.likes === 'number' ? { likes: Math.max(data.likes, v.likes) } : {}),
            ...(status ? { status } : {}),
          }));
          break;
        }
        case 'viewers':
          if (typeof data.count === 'number') updateVideo((v) => ({ ...v, viewers: data.count as number }));
          break;
        case 'status':
          if (data.status === 'live' || data.status === 'ended')
            updateVideo((v) => ({ ...v, status: data.status as TVideo['status'] }));
          break;
      }
      optionsRef.current.onEvent?.(event);
    };

    const client = new RealtimeClient({
      urls: urls.split(','),
      observer: optionsRef.current.observer ?? false,
      ...(optionsRef.current.preferredUrl ? { preferredUrl: optionsRef.current.preferredUrl } : {}),
      topics: [videoTopic(videoId)],
      token: realtimeTokenSource(videoId, optionsRef.current.initialToken),
      eventTypes: EVENT_TYPES,
      onEvent,
      onStatus: (status, detail) => setConnection({ status, ...(detail.nodeUrl ? { node: detail.nodeUrl } : {}) }),
      onResync: () => {
        void queryClient.invalidateQueries({ queryKey: queryKeys.video(videoId) });
        void queryClient.invalidateQueries({ queryKey: queryKeys.comments(videoId) });
      },
      visibility: {
        isHidden: () => document.visibilityState === 'hidden',
        onChange: (listener) => {
          document.addEventListener('visibilitychange', listener);
          return () => document.removeEventListener('visibilitychange', listener);
        },
      },
    });
    client.start();
    return () => client.stop();
  }, [videoId, urls, queryClient]);

  /** The client's state and the node it uses (shown as data-* attributes on the page). */
  return connection;
}
