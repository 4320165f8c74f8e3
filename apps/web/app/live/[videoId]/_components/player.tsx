'use client';

import { useEffect, useRef } from 'react';

/**
 * HLS player: the browser's own HLS where it has it (Safari, recent Chromium: the lightest for the
 * device), hls.js elsewhere. Muted autoplay.
 *
 * `measure`: hls.js wherever MediaSource exists, which knows each frame's wall-clock time (the
 * playlist's PROGRAM-DATE-TIME at the playhead); kept in `data-playing-date` (ms since the epoch),
 * now minus it is the glass-to-glass delay of a stream stamped as it is received (the ingest's).
 * The browser's own player reports it too where it has `getStartDate()`.
 * `crossOrigin`: the stream allows any origin (the ingest's does), so the page may read its pixels.
 * `onAspect`: the picture's width / height once known (the page sizes the stage to it).
 */
export function Player({
  src,
  ended,
  label = 'Live video',
  measure = false,
  crossOrigin = false,
  onAspect,
}: {
  src: string;
  ended: boolean;
  label?: string;
  measure?: boolean;
  crossOrigin?: boolean;
  onAspect?: ((aspect: number) => void) | undefined;
}) {
  const ref = useRef<HTMLVideoElement>(null);

  useEffect(() => {
    const video = ref.current;
    if (!video || ended) return;
    let cancelled = false;
    let destroy = () => {};
    const native = video.canPlayType('application/vnd.apple.mpegurl') !== '';
    if (native && !measure) {
      video.src = src;
      void video.play().catch(() => {});
      const noteStartDate = () => {
        const start = (video as HTMLVideoElement & { getStartDate?: () => Date }).getStartDate?.().getTime();
        if (start !== undefined && Number.isFinite(start) && start > 0) {
          video.dataset.playingDate = String(Math.round(start + video.currentTime * 1000));
        }
      };
      video.addEventListener('timeupdate', noteStartDate);
      return () => {
        video.removeEventListener('timeupdate', noteStartDate);
        delete video.dataset.playingDate;
        video.removeAttribute('src');
      };
    }
    void import('hls.js').then(({ default: Hls }) => {
      if (cancelled) return;
      if (!Hls.isSupported()) {
        if (!native) return;
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
  }, [src, ended, measure]);

  useEffect(() => {
    if (ended) ref.current?.pause();
  }, [ended]);

  return (
    <video
      ref={ref}
      muted
      playsInline
      autoPlay
      controls
      aria-label={label}
      data-testid="player"
      onLoadedMetadata={(e) => {
        const { videoWidth, videoHeight } = e.currentTarget;
        if (videoWidth > 0 && videoHeight > 0) onAspect?.(videoWidth / videoHeight);
      }}
      {...(crossOrigin ? { crossOrigin: 'anonymous' as const } : {})}
    />
  );
}
