import { EventIdGenerator, type TComment, type TUser, type TVideoStatus } from '@ovation/shared';
import {
  MAX_COMMENTS_PER_VIDEO,
  MAX_LISTED_VIDEOS,
  type NewVideo,
  newVideo,
  type ProductStore,
  type StoredVideo,
} from './store';

/** In-process store: the embedded default when REDIS_URL is unset (one web process). */
export class MemoryStore implements ProductStore {
  private readonly videos = new Map<string, StoredVideo>();
  private readonly comments = new Map<string, TComment[]>();
  private readonly ids = new EventIdGenerator('web');

  async createVideo(input: NewVideo) {
    const video = newVideo(input);
    this.videos.set(video.id, video);
    return { ...video };
  }

  async getVideo(id: string) {
    const video = this.videos.get(id);
    return video ? { ...video } : undefined;
  }

  async listVideos() {
    return [...this.videos.values()]
      .sort((a, b) => b.createdAt.localeCompare(a.createdAt))
      .slice(0, MAX_LISTED_VIDEOS)
      .map((v) => ({ ...v }));
  }

  async setStatus(id: string, status: TVideoStatus) {
    const video = this.videos.get(id);
    if (!video) return undefined;
    video.status = status;
    return { ...video };
  }

  async addLikes(id: string, count: number) {
    const video = this.videos.get(id);
    if (!video) return 0;
    video.likes += count;
    return video.likes;
  }

  async addComment(videoId: string, author: TUser, text: string) {
    const comment: TComment = { id: this.ids.next(), videoId, author, text, at: new Date().toISOString() };
    const list = this.comments.get(videoId) ?? [];
    list.push(comment);
    if (list.length > MAX_COMMENTS_PER_VIDEO) list.splice(0, list.length - MAX_COMMENTS_PER_VIDEO);
    this.comments.set(videoId, list);
    return comment;
  }

  async listComments(videoId: string, limit: number) {
    return (this.comments.get(videoId) ?? []).slice(-limit);
  }

  async deleteComment(videoId: string, commentId: string) {
    const list = this.comments.get(videoId);
    const index = list?.findIndex((c) => c.id === commentId) ?? -1;
    if (!list || index === -1) return false;
    list.splice(index, 1);
    return true;
  }

  async close() {}
}
