'use client';

import { useEffect, useRef } from 'react';

/** HLS player: native HLS where the browser has it (Safari), hls.js elsewhere. Muted autoplay. */
export function Player({ src, ended }: { src: string; ended: boolean }) {
  const ref = useRef<HTMLVideoElement>(null);

  useEffect(() => {
    const video = ref.current;
    if (!video || ended) return;
    let destroy = () => {};
    if (video.canPlayType('application/vnd.apple.mpegurl')) {
      video.src = src;
      void video.play().catch(() => {});
      destroy = () => video.removeAttribute('src');
    } else {
      let cancelled = false;
      void import('hls.js').then(({ default: Hls }) => {
        if (cancelled || !Hls.isSupported()) return;
        const hls = new Hls({ liveSyncDurationCount: 2 });
        hls.loadSource(src);
        hls.attachMedia(video);
        hls.on(Hls.Events.MANIFEST_PARSED, () => void video.play().catch(() => {}));
        destroy = () => hls.destroy();
      });
      return () => {
        cancelled = true;
        destroy();
      };
    }
    return () => destroy();
  }, [src, ended]);

  useEffect(() => {
    if (ended) ref.current?.pause();
  }, [ended]);

  return <video ref={ref} muted playsInline autoPlay controls aria-label="Live video" data-testid="player" />;
}
