/*
 * A page that shows a video's like total and viewer count live. The page was rendered with the
 * realtime URLs and a token (GET /api/realtime-token?videoId=<id> on the web tier).
 */
import { RealtimeClient, tokenFromWeb, videoTopic } from '@ovation/client';

export function followVideo(
  videoId: string,
  realtimeUrls: string[],
  initial: { token: string; expiresAt: number },
  show: { likes(total: number): void; viewers(count: number): void; reload(): void },
): () => void {
  let likes = 0;
  const client = new RealtimeClient({
    urls: realtimeUrls,
    topics: [videoTopic(videoId)],
    token: tokenFromWeb({ videoId, current: initial }),
    visibility: {
      isHidden: () => document.visibilityState === 'hidden',
      onChange: (listener) => {
        document.addEventListener('visibilitychange', listener);
        return () => document.removeEventListener('visibilitychange', listener);
      },
    },
    onResync: () => show.reload(),
  });
  client.on('snapshot', (e) => {
    likes = e.data.likes;
    show.likes(likes);
    show.viewers(e.data.viewers);
  });
  client.on('like', (e) => {
    likes = Math.max(e.data.total ?? likes + e.data.count, likes);
    show.likes(likes);
  });
  client.on('viewers', (e) => show.viewers(e.data.count));
  client.start();
  return () => client.stop();
}
