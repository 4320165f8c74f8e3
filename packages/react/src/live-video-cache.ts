import {
  type Comment,
  fittedReactions,
  type OvationEvents,
  reactionCountsOf,
  reactionsAfterLike,
  type TypedEvent,
  type Video,
} from '@ovation/client';
import type { QueryClient } from '@tanstack/react-query';

/**
 * The react-query keys useLiveVideo keeps a video's state under: the product API's answers
 * (`GET /api/videos/:id` → `{ video }`, `GET /api/videos/:id/comments` → `{ comments }`), so a
 * page that fetches them itself under the same keys sees every realtime change.
 */
export const liveVideoKeys = {
  video: (videoId: string) => ['video', videoId] as const,
  comments: (videoId: string) => ['comments', videoId] as const,
};

export interface VideoData {
  video: Video;
}

export interface CommentsData {
  comments: Comment[];
}

/** Comments kept in the cache: a long-running stream must not grow the page without bound. */
export const MAX_CACHED_COMMENTS = 200;

/**
 * Writes one event of a video's topic into the cache (no second store): likes raise the total
 * (never lower it: the server's `total` can lag the viewer's own taps already counted), comments
 * append once, deletions remove, `viewers`, `status` and `snapshot` (the topic's state on joining
 * or resuming) update the video. Nothing is created: an entry not loaded yet stays unloaded.
 */
export function applyLiveVideoEvent(queryClient: QueryClient, videoId: string, event: TypedEvent<OvationEvents>): void {
  if (event.type === 'comment' || event.type === 'comment_deleted') {
    queryClient.setQueryData<CommentsData>(liveVideoKeys.comments(videoId), (old) =>
      old ? commentsAfter(old, event) : event.type === 'comment' ? { comments: [event.data] } : old,
    );
    return;
  }
  queryClient.setQueryData<VideoData>(liveVideoKeys.video(videoId), (old) => (old ? videoAfter(old, event) : old));
}

/** The video after one event of its topic (the same object when the event does not change it). */
export function videoAfter(old: VideoData, event: TypedEvent<OvationEvents>): VideoData {
  const v = old.video;
  switch (event.type) {
    case 'like': {
      const { count, total } = event.data;
      const likes = total !== undefined ? Math.max(total, v.likes) : v.likes + count;
      // Per reaction as for the total (a video from an older server may have none yet).
      return { video: { ...v, likes, reactions: reactionsAfterLike(v.reactions, event.data, likes) } };
    }
    case 'snapshot': {
      const { viewers, likes, status } = event.data;
      const total = Math.max(likes, v.likes);
      return {
        video: {
          ...v,
          viewers,
          likes: total,
          reactions: likes >= v.likes ? fittedReactions(reactionCountsOf(event.data.reactions), total) : v.reactions,
          ...(status === 'live' || status === 'ended' ? { status } : {}),
        },
      };
    }
    case 'viewers':
      return { video: { ...v, viewers: event.data.count } };
    case 'status': {
      const { status } = event.data;
      return status === 'live' || status === 'ended' ? { video: { ...v, status } } : old;
    }
    case 'stream': {
      const { state } = event.data;
      return state === 'live' || state === 'interrupted' ? { video: { ...v, stream: state } } : old;
    }
    default:
      return old;
  }
}

/** The comments after one event of the video's topic (the same object when it does not change them). */
export function commentsAfter(old: CommentsData, event: TypedEvent<OvationEvents>): CommentsData {
  if (event.type === 'comment') {
    const comment = event.data;
    if (old.comments.some((c) => c.id === comment.id)) return old;
    return { comments: [...old.comments, comment].slice(-MAX_CACHED_COMMENTS) };
  }
  if (event.type === 'comment_deleted') return { comments: old.comments.filter((c) => c.id !== event.data.id) };
  return old;
}

/** After a `resync` (the stream could not replay what was missed): the video's state is reloaded. */
export function reloadLiveVideo(queryClient: QueryClient, videoId: string): void {
  void queryClient.invalidateQueries({ queryKey: liveVideoKeys.video(videoId) });
  void queryClient.invalidateQueries({ queryKey: liveVideoKeys.comments(videoId) });
}
