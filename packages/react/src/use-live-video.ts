'use client';

import type { RealtimeClientOptions } from '@ovation/client';
import {
  type OvationEvents,
  type ReactionCounts,
  type TokenSource,
  type TopicsTokenSource,
  type TypedEvent,
  videoTopic,
} from '@ovation/client';
import { type UseQueryResult, useQuery, useQueryClient } from '@tanstack/react-query';
import { useEffect, useRef } from 'react';
import { commentsWithEvents, heardDuringLoads, loadWithEvents, videoWithEvents } from './events-during-load.js';
import {
  applyLiveVideoEvent,
  type CommentsData,
  liveVideoKeys,
  reloadLiveVideo,
  type VideoData,
} from './live-video-cache.js';
import { type TopicConnection, useTopic } from './use-topic.js';

export interface UseLiveVideoOptions {
  urls: readonly string[];
  /** How to load the video and its comments (the product API); realtime events keep them current. */
  load: {
    video: () => Promise<VideoData>;
    comments: () => Promise<CommentsData>;
  };
  token?: TokenSource | undefined;
  /** Listen without counting as a viewer (the broadcaster's studio). */
  observer?: boolean | undefined;
  preferredUrl?: string | undefined;
  /**
   * Other viewers' likes (for an animation): the count of each `like` event not all the user's own,
   * and that count per reaction (summing to it; all `like` from a publisher that names none).
   */
  onLikes?: ((count: number, byReaction: ReactionCounts) => void) | undefined;
  /** The signed-in user, whose own likes `onLikes` skips (they were shown when tapped). */
  ownUserId?: (() => string | undefined) | undefined;
  /** Every event, after the cache was updated. */
  onEvent?: ((event: TypedEvent<OvationEvents>) => void) | undefined;
  /** Report receive latencies to the node (default: on, unless an observer). */
  reportLatency?: boolean | undefined;
  client?: Partial<RealtimeClientOptions<OvationEvents>> | undefined;
  /** See useTopic's `shared` and `sharedToken`. */
  shared?: boolean | undefined;
  sharedToken?: TopicsTokenSource | undefined;
  /** See useTopic's `identity`: who the page says the viewer is, once it knows. */
  identity?: string | undefined;
}

export interface LiveVideo {
  video: UseQueryResult<VideoData>;
  comments: UseQueryResult<CommentsData>;
  viewers: number | undefined;
  likes: number | undefined;
  connection: TopicConnection;
}

/**
 * A video as it happens: loads it and its comments with react-query, then keeps them current from
 * the video's topic with setQueryData (see applyLiveVideoEvent), and reloads both after a resync.
 * A load's answer has the events heard while it ran laid over it (see events-during-load.ts).
 */
export function useLiveVideo(videoId: string, options: UseLiveVideoOptions): LiveVideo {
  const queryClient = useQueryClient();
  const video = useQuery({
    queryKey: liveVideoKeys.video(videoId),
    queryFn: () => loadWithEvents(queryClient, videoId, options.load.video, videoWithEvents),
  });
  const comments = useQuery({
    queryKey: liveVideoKeys.comments(videoId),
    queryFn: () => loadWithEvents(queryClient, videoId, options.load.comments, commentsWithEvents),
  });
  const connection = useTopic<OvationEvents>(videoTopic(videoId), {
    urls: options.urls,
    token: options.token,
    observer: options.observer,
    preferredUrl: options.preferredUrl,
    reportLatency: options.reportLatency ?? true,
    pauseWhenHidden: true,
    client: options.client,
    shared: options.shared,
    sharedToken: options.sharedToken,
    identity: options.identity,
    onEvent: (event) => {
      // A late event of the video shown before (the hook moved on; its stream closes after).
      if (event.topic !== videoTopic(videoId)) return;
      heardDuringLoads(queryClient, videoId, event);
      applyLiveVideoEvent(queryClient, videoId, event);
      if (event.type === 'like' && options.onLikes) {
        const me = options.ownUserId?.();
        const sample = event.data.sample ?? [];
        // The viewer's own taps already showed their hearts.
        if (!(me && sample.length > 0 && sample.every((s) => s.id === me)))
          options.onLikes(event.data.count, event.data.byReaction ?? { like: event.data.count });
      }
      options.onEvent?.(event);
    },
    onResync: () => reloadLiveVideo(queryClient, videoId),
  });
  // On a shared connection a topic another tab's hook carries already brings this hook its
  // counts (the hub's state of the topic) but not the comments posted between this hook's first
  // load and its subscription. Loaded once more when the subscription first reports open: every
  // event after that reaches this hook (and the events during the load are laid over it).
  const reloadedFor = useRef<string | undefined>(undefined);
  const sharedOpen = connection.shared === true && connection.status === 'open';
  useEffect(() => {
    if (!sharedOpen || reloadedFor.current === videoId) return;
    reloadedFor.current = videoId;
    reloadLiveVideo(queryClient, videoId);
  }, [sharedOpen, videoId, queryClient]);
  return {
    video,
    comments,
    viewers: video.data?.video.viewers,
    likes: video.data?.video.likes,
    connection,
  };
}
