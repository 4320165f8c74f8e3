'use client';

import { useEffect, useRef } from 'react';

/**
 * HLS player: hls.js where MediaSource exists, the browser's own HLS elsewhere. Muted autoplay.
 * With hls.js, the wall-clock time of the frame on screen (the playlist's PROGRAM-DATE-TIME at
 * the playhead) is kept in `data-playing-date` (ms since the epoch): now minus it is the
 * glass-to-glass delay of a stream packaged as it is received (the ingest's).
 */
export function Player({ src, ended, label = 'Live video' }: { src: string; ended: boolean; label?: string }) {
  const ref = useRef<HTMLVideoElement>(null);

  useEffect(() => {
    const video = ref.current;
    if (!video || ended) return;
    let cancelled = false;
    let destroy = () => {};
    // hls.js wherever MediaSource exists (it knows each frame's wall-clock time, and its media is
    // same-origin); the browser's own HLS only where it does not (iPhone Safari).
    void import('hls.js').then(({ default: Hls }) => {
      if (cancelled) return;
      if (!Hls.isSupported()) {
        if (!video.canPlayType('application/vnd.apple.mpegurl')) return;
        video.src = src;
        void video.play().catch(() => {});
        destroy = () => video.removeAttribute('src');
        return;
      }
      const hls = new Hls({ liveSyncDurationCount: 2 });
      hls.loadSource(src);
      hls.attachMedia(video);
      hls.on(Hls.Events.MANIFEST_PARSED, () => void video.play().catch(() => {}));
      const notePlayingDate = () => {
        const at = hls.playingDate;
        if (at) video.dataset.playingDate = String(at.getTime());
      };
      video.addEventListener('timeupdate', notePlayingDate);
      destroy = () => {
        video.removeEventListener('timeupdate', notePlayingDate);
        delete video.dataset.playingDate;
        hls.destroy();
      };
    });
    return () => {
      cancelled = true;
      destroy();
    };
  }, [src, ended]);

  useEffect(() => {
    if (ended) ref.current?.pause();
  }, [ended]);

  return <video ref={ref} muted playsInline autoPlay controls aria-label={label} data-testid="player" />;
}
