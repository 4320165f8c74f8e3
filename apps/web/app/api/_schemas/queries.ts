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

/** GET /api/realtime-token */
export const RealtimeTokenQuerySchema = z.object({
  videoId: z
    .string()
    .regex(/^[A-Za-z0-9_-]{1,64}$/)
    .optional(),
});
