import { MAX_TOPICS_PER_CONNECTION, PresenceUsersQuerySchema } from '@ovation/shared';
import { z } from 'zod';
import { MAX_VIDEO_PAGE } from '../../../lib/server/store/store';

/*
 * The query strings the product API's routes parse, here rather than in their route.ts (Next lets
 * a route module export only its handlers and settings) so that the OpenAPI document
 * (openapi.ts) is built from the very schemas the routes validate with.
 */

/** GET /api/videos */
export const VideoListQuerySchema = z.object({
  owner: z.literal('me').optional(),
  cursor: z.string().max(512).optional(),
  limit: z.coerce.number().int().min(1).max(MAX_VIDEO_PAGE).optional(),
});

/** GET /api/videos/:id/comments */
export const CommentListQuerySchema = z.object({ limit: z.coerce.number().int().min(1).max(200).default(50) });

/** A video named in a query: checked by pattern (an unknown one is looked up by the route, if at all). */
const VideoIdSchema = z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'a video id is 1 to 64 of A-Z a-z 0-9 _ -');

/**
 * GET /api/presence: `users` as the dispatcher's look-up takes them (a comma list of 1 to
 * MAX_PRESENCE_USERS ids, repeats once); `videoId`: present on that video rather than anywhere.
 */
export const PresenceQuerySchema = z.object({
  users: PresenceUsersQuerySchema.shape.users,
  videoId: VideoIdSchema.optional(),
});

/** GET /api/videos/:id/presence: the dispatcher's page query as it is. */
export { PresenceListQuerySchema as VideoPresenceQuerySchema } from '@ovation/shared';

/**
 * Videos one token may grant: a connection shared by a browser's tabs carries every tab's video,
 * and a connection holds at most MAX_TOPICS_PER_CONNECTION topics, `videos` being one.
 */
export const MAX_VIDEOS_PER_TOKEN = MAX_TOPICS_PER_CONNECTION - 1;

/** GET /api/realtime-token: `videoId` once (the page's video) or repeated (a shared connection). */
export const RealtimeTokenQuerySchema = z.object({
  videoId: z
    .array(VideoIdSchema)
    .max(MAX_VIDEOS_PER_TOKEN, `at most ${MAX_VIDEOS_PER_TOKEN} videoId values`)
    .optional(),
  /**
   * `1`: a shared connection's request — unknown videos are left out of the grant rather than 404,
   * even with one id (the single-id answer without it is unchanged).
   */
  shared: z.literal('1').optional(),
});
