'use client';

import type { TVideo } from '@ovation/shared';
import { useQuery } from '@tanstack/react-query';
import { useEffect, useState } from 'react';

/** How often a live video's poster is fetched again (the ingest writes one every 5 s). */
const POSTER_REFRESH_MS = 10_000;

/*
 * A video's picture on the home page. A stream from the ingest has a poster (`posterUrl`: a JPEG
 * frame the ingest rewrites every few seconds); it is fetched as a blob and shown from an object
 * URL — the pages' Content-Security-Policy lets images come from the page's origin, data: and
 * blob:, and lets fetches reach the ingest (its HLS) — and refreshed while the video is live, the
 * old picture staying until the new one has arrived (no flash).
 *
 * Any other stream (an external hlsUrl, the bundled demo) gets a placeholder: a gradient whose
 * hue comes from the video's id, with the title's initial. Grabbing a frame in the browser
 * would mean a player (hls.js, a playlist and a segment) per card: seconds and megabytes for a
 * list of thumbnails, against origins that may not allow it (CORS taints the canvas).
 */
export function VideoPoster({ video }: { video: TVideo }) {
  const src = usePosterImage(video.posterUrl, video.status === 'live');
  return (
    <div className="poster" style={{ '--hue': hueOf(video.id) } as React.CSSProperties} aria-hidden="true">
      {src ? (
        // biome-ignore lint/performance/noImgElement: a blob: URL, nothing for next/image to optimise
        <img src={src} alt="" />
      ) : (
        <span className="poster-initial">{initialOf(video.title)}</span>
      )}
      {video.status === 'live' && <span className="badge live">Live</span>}
    </div>
  );
}

/** The poster as an object URL once fetched (undefined: none yet, or none at all). */
function usePosterImage(url: string | undefined, live: boolean): string | undefined {
  const poster = useQuery({
    queryKey: ['poster', url],
    queryFn: async () => {
      const response = await fetch(url as string, { cache: 'no-cache' });
      if (!response.ok) throw new Error(`poster: ${response.status}`);
      return response.blob();
    },
    enabled: url !== undefined,
    refetchInterval: live ? POSTER_REFRESH_MS : false,
    // The first poster comes a second or two after the video goes live: 404 until then.
    retry: live ? 3 : 0,
  });
  const [src, setSrc] = useState<string>();
  useEffect(() => {
    if (!poster.data) return;
    const objectUrl = URL.createObjectURL(poster.data);
    setSrc(objectUrl);
    return () => URL.revokeObjectURL(objectUrl);
  }, [poster.data]);
  return poster.data ? src : undefined;
}

function initialOf(title: string): string {
  return ([...title.trim()][0] ?? '?').toUpperCase();
}

/** A stable hue per video, so each placeholder keeps its colour across refreshes. */
function hueOf(id: string): number {
  let hash = 0;
  for (let i = 0; i < id.length; i++) hash = (hash * 31 + id.charCodeAt(i)) >>> 0;
  return hash % 360;
}
