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
/** The studio's activity charts cover this many minutes, one bucket per minute. */
export const ACTIVITY_MINUTES = 10;

/** Likes and comments a video received in one minute (`minute`: its start, ms since the epoch). */
export interface ActivityMinute {
  minute: number;
  likes: number;
  comments: number;
}

export function minuteOf(ms: number): number {
  return Math.floor(ms / 60_000) * 60_000;
}

/** The ACTIVITY_MINUTES minute starts ending with the current one, oldest first. */
export function activityWindow(now: number): number[] {
  const last = minuteOf(now);
  return Array.from({ length: ACTIVITY_MINUTES }, (_, i) => last - (ACTIVITY_MINUTES - 1 - i) * 60_000);
}

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
  /** One owner's videos, newest first, at most MAX_LISTED_VIDEOS. */
  listVideosByOwner(ownerId: string): Promise<StoredVideo[]>;
  setStatus(id: string, status: TVideoStatus): Promise<StoredVideo | undefined>;
  /** Adds likes (counted in the current minute's activity too); returns the new total. */
  addLikes(id: string, count: number): Promise<number>;
  addComment(videoId: string, author: TUser, text: string): Promise<TComment>;
  /** The most recent `limit` comments, oldest first. */
  listComments(videoId: string, limit: number): Promise<TComment[]>;
  /** True when the comment existed. */
  deleteComment(videoId: string, commentId: string): Promise<boolean>;
  /** Likes and comments per minute over the last ACTIVITY_MINUTES minutes, oldest first. */
  activity(videoId: string, now?: number): Promise<ActivityMinute[]>;
  /** Bars a user from commenting on a video (their name kept for the studio's list). */
  ban(videoId: string, user: TUser): Promise<void>;
  /** True when the user was banned. */
  unban(videoId: string, userId: string): Promise<boolean>;
  isBanned(videoId: string, userId: string): Promise<boolean>;
  listBans(videoId: string): Promise<TUser[]>;
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
