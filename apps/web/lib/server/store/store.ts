import { randomTag, type TComment, type TUser, type TVideoStatus } from '@ovation/shared';

/**
 * The product's data: videos, their like totals and recent comments. One interface, a memory driver
 * (the embedded default) and a Redis driver, both passing test/store-contract.test.ts.
 */
export interface StoredVideo {
  id: string;
  title: string;
  status: TVideoStatus;
  hlsUrl: string;
  ownerId: string;
  createdAt: string;
  likes: number;
}

/** Comments kept per video (older ones fall off); a page load shows the most recent. */
export const MAX_COMMENTS_PER_VIDEO = 500;
/** Videos listed on the home page, newest first. */
export const MAX_LISTED_VIDEOS = 100;

export interface ProductStore {
  createVideo(input: {
    title: string;
    hlsUrl: string;
    ownerId: string;
    status?: TVideoStatus;
    id?: string;
  }): Promise<StoredVideo>;
  getVideo(id: string): Promise<StoredVideo | undefined>;
  /** Newest first, at most MAX_LISTED_VIDEOS. */
  listVideos(): Promise<StoredVideo[]>;
  setStatus(id: string, status: TVideoStatus): Promise<StoredVideo | undefined>;
  /** Adds likes; returns the new total. */
  addLikes(id: string, count: number): Promise<number>;
  addComment(videoId: string, author: TUser, text: string): Promise<TComment>;
  /** The most recent `limit` comments, oldest first. */
  listComments(videoId: string, limit: number): Promise<TComment[]>;
  /** True when the comment existed. */
  deleteComment(videoId: string, commentId: string): Promise<boolean>;
  close(): Promise<void>;
}

export interface NewVideo {
  title: string;
  hlsUrl: string;
  ownerId: string;
  status?: TVideoStatus;
  id?: string;
}

/** A video as first stored: no likes yet, `upcoming` unless said otherwise. */
export function newVideo(input: NewVideo, now: Date = new Date()): StoredVideo {
  return {
    id: input.id ?? randomTag(8),
    title: input.title,
    status: input.status ?? 'upcoming',
    hlsUrl: input.hlsUrl,
    ownerId: input.ownerId,
    createdAt: now.toISOString(),
    likes: 0,
  };
}
