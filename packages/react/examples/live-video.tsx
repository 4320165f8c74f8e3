'use client';
/*
 * A viewer's counters and comment list, live. Assumes a QueryClientProvider above it and the
 * page rendered with the realtime URLs (the web tier's GET /api/realtime-token gives them).
 */
import { tokenFromWeb } from '@ovation/client';
import { useLiveVideo } from '@ovation/react';

async function json<T>(url: string): Promise<T> {
  const response = await fetch(url, { credentials: 'same-origin' });
  if (!response.ok) throw new Error(`${url} answered ${response.status}`);
  return (await response.json()) as T;
}

export function LiveVideo({ videoId, realtimeUrls }: { videoId: string; realtimeUrls: string[] }) {
  const live = useLiveVideo(videoId, {
    urls: realtimeUrls,
    token: tokenFromWeb({ videoId }),
    load: {
      video: () => json(`/api/videos/${encodeURIComponent(videoId)}`),
      comments: () => json(`/api/videos/${encodeURIComponent(videoId)}/comments?limit=50`),
    },
  });
  if (live.video.isPending) return <p>Loading…</p>;
  return (
    <section data-connection={live.connection.status}>
      <h1>{live.video.data?.video.title}</h1>
      <p>
        {live.viewers} watching, {live.likes} likes
      </p>
      <ul aria-label="comments">
        {live.comments.data?.comments.map((c) => (
          <li key={c.id}>
            {c.author.name}: {c.text}
          </li>
        ))}
      </ul>
    </section>
  );
}
