/*
 * The bundled demo stream as an endless *live* HLS playlist: the five committed 2 s segments
 * (scripts/make-demo-stream.sh) repeat forever, and the playlist is a sliding window whose media
 * sequence advances with the wall clock, with no #EXT-X-ENDLIST — so players treat it as live and
 * every viewer is at the same point. A discontinuity marks each wrap back to the first segment.
 */
export const dynamic = 'force-dynamic';

const SEGMENT_COUNT = 5;
const SEGMENT_SECONDS = 2;
const WINDOW = 4;

export function demoPlaylist(nowMs: number): string {
  const current = Math.floor(nowMs / 1000 / SEGMENT_SECONDS);
  const first = current - WINDOW + 1;
  const lines = [
    '#EXTM3U',
    '#EXT-X-VERSION:3',
    `#EXT-X-TARGETDURATION:${SEGMENT_SECONDS}`,
    `#EXT-X-MEDIA-SEQUENCE:${first}`,
    // Wraps (multiples of SEGMENT_COUNT) before the window: each one was a discontinuity.
    `#EXT-X-DISCONTINUITY-SEQUENCE:${Math.ceil(first / SEGMENT_COUNT)}`,
  ];
  for (let sequence = first; sequence <= current; sequence++) {
    if (sequence % SEGMENT_COUNT === 0) lines.push('#EXT-X-DISCONTINUITY');
    lines.push(`#EXTINF:${SEGMENT_SECONDS.toFixed(3)},`, `seg${sequence % SEGMENT_COUNT}.ts`);
  }
  return `${lines.join('\n')}\n`;
}

export function GET(): Response {
  return new Response(demoPlaylist(Date.now()), {
    headers: { 'content-type': 'application/vnd.apple.mpegurl', 'cache-control': 'no-store' },
  });
}
