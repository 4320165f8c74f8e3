import { open, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { AppError } from '@ovation/shared';
import type { FastifyInstance } from 'fastify';
import { type HlsDirectories, SAFE_ID } from '../hls-directories.js';
import { POSTER_FILE } from '../media/packager.js';

/** ffmpeg's names for them (packager.ts); nothing else under a session's directory is served. */
const PLAYLIST = 'index.m3u8';
const SEGMENT = /^seg-\d{1,10}\.ts$/;

/**
 * GET /hls/:videoId/index.m3u8, /hls/:videoId/seg-<n>.ts and /hls/:videoId/poster.jpg: the video's
 * current session's files, to any origin (players on the web's pages). Names are matched whole,
 * so no path leaves the session's directory. The playlist changes every second (no-cache); a
 * segment never does; the poster is replaced every few seconds (cached for as long).
 */
export function hlsRoutes(app: FastifyInstance, deps: { hls: HlsDirectories }) {
  app.get<{ Params: { videoId: string; file: string } }>('/hls/:videoId/:file', async (request, reply) => {
    reply.header('access-control-allow-origin', '*');
    const { videoId, file } = request.params;
    const dir = SAFE_ID.test(videoId) ? deps.hls.served(videoId) : undefined;
    if (!dir || (file !== PLAYLIST && file !== POSTER_FILE && !SEGMENT.test(file))) throw notFound();

    if (file === PLAYLIST) {
      const text = await readFile(join(dir, PLAYLIST), 'utf8').catch(() => undefined);
      if (text === undefined) throw notFound();
      return reply.header('cache-control', 'no-cache').type('application/vnd.apple.mpegurl').send(text);
    }
    // Opened before answering: a segment deleted meanwhile is a 404, not a broken 200. Once open,
    // ffmpeg's delete_segments cannot take it from under the read (nor its rename a poster).
    const poster = file === POSTER_FILE;
    const handle = await open(join(dir, file), 'r').catch(() => undefined);
    if (!handle) throw notFound();
    const size = await handle.stat().then(
      (stat) => stat.size,
      async (error: unknown) => {
        await handle.close();
        throw error;
      },
    );
    return reply
      .header('cache-control', poster ? 'public, max-age=5' : 'public, max-age=60')
      .header('content-length', size)
      .type(poster ? 'image/jpeg' : 'video/mp2t')
      .send(handle.createReadStream());
  });
}

function notFound(): AppError {
  return new AppError('NOT_FOUND', 'no such stream, segment or poster');
}
