'use client';

import type { TIngestHealth, TVideo } from '@ovation/shared';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useEffect, useRef, useState } from 'react';
import { ApiError, api } from '../../../../lib/client/api';
import { useStreamGeneration } from '../../../../lib/client/stream-generation';
import { Player } from '../../../live/[videoId]/_components/player';

/**
 * Going live from an encoder (OBS, ffmpeg): the RTMP server URL and the stream key (hidden until
 * shown, re-generable), the stream's health while the encoder is connected, and a preview of what
 * viewers see with its glass-to-glass delay. Refreshed every 2 seconds, as the ingest reports.
 */
export function IngestPanel({ video }: { video: TVideo }) {
  const queryClient = useQueryClient();
  const key = ['ingest', video.id] as const;
  const info = useQuery({
    queryKey: key,
    queryFn: () => api.ingest(video.id),
    refetchInterval: 2_000,
    retry: (count, error) => !(error instanceof ApiError && error.status < 500) && count < 2,
  });
  const [shown, setShown] = useState(false);
  const rotate = useMutation({
    mutationFn: () => api.rotateIngestKey(video.id),
    onSuccess: (answer) => queryClient.setQueryData(key, answer),
  });
  const generation = useStreamGeneration(video.id, video.stream, true);

  if (info.error instanceof ApiError && info.error.status === 503) {
    return (
      <section className="panel ingest" aria-label="Encoder">
        <h2>Go live from an encoder</h2>
        <p>{info.error.message}</p>
      </section>
    );
  }
  const health = info.data?.health ?? null;
  return (
    <section className="panel ingest" aria-label="Encoder">
      <h2>Go live from an encoder</h2>
      <p className="hint">
        In OBS: Settings → Stream → Service “Custom…”, then this server and stream key. Set the keyframe interval to 1 s
        (Settings → Output) for the shortest delay.
      </p>
      {info.data && video.status !== 'ended' && (
        <dl className="ingest-target">
          <dt>Server</dt>
          <dd>
            <input readOnly aria-label="RTMP server URL" value={info.data.rtmpUrl} size={32} />
          </dd>
          <dt>Stream key</dt>
          <dd>
            <input
              readOnly
              aria-label="Stream key"
              type={shown ? 'text' : 'password'}
              value={info.data.streamKey}
              size={32}
            />{' '}
            <button type="button" onClick={() => setShown((s) => !s)}>
              {shown ? 'Hide key' : 'Show key'}
            </button>{' '}
            <button
              type="button"
              onClick={() => void navigator.clipboard?.writeText(info.data?.streamKey ?? '').catch(() => {})}
            >
              Copy key
            </button>{' '}
            <button
              type="button"
              disabled={rotate.isPending}
              onClick={() => {
                if (window.confirm('Make a new stream key? An encoder using the current one is cut off.'))
                  rotate.mutate();
              }}
            >
              New key
            </button>
          </dd>
        </dl>
      )}
      {rotate.isError && <p role="alert">{rotate.error.message}</p>}
      <StreamHealth health={health} stream={video.stream} />
      {video.stream === 'live' && (
        <Preview key={`${video.hlsUrl}#${generation}`} src={video.hlsUrl} segmentS={health?.segmentDurationS ?? null} />
      )}
    </section>
  );
}

function StreamHealth({ health, stream }: { health: TIngestHealth | null; stream: TVideo['stream'] }) {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    const timer = setInterval(() => setNow(Date.now()), 1_000);
    return () => clearInterval(timer);
  }, []);
  if (!health) {
    return (
      <p role="status" aria-label="Encoder status">
        {stream === 'interrupted'
          ? 'Encoder disconnected — viewers see “Stream interrupted”.'
          : 'No encoder connected.'}
      </p>
    );
  }
  const { video, audio } = health;
  const sinceSegment = health.lastSegmentAt ? ((now - Date.parse(health.lastSegmentAt)) / 1000).toFixed(1) : null;
  return (
    <>
      <p role="status" aria-label="Encoder status">
        Encoder connected since {new Date(health.connectedAt).toLocaleTimeString()}
      </p>
      <dl className="stream-health" aria-label="Stream health">
        <dt>Bitrate</dt>
        <dd>{Math.round(health.bitrateKbps)} kbps</dd>
        <dt>Resolution</dt>
        <dd>{video.width && video.height ? `${video.width}×${video.height}` : 'unknown'}</dd>
        <dt>Frame rate</dt>
        <dd>{video.fps !== null ? `${video.fps.toFixed(1)} fps` : 'unknown'}</dd>
        <dt>Frames</dt>
        <dd>{video.frames}</dd>
        <dt>Codecs</dt>
        <dd>
          {video.codec ?? '?'} / {audio.codec ?? 'no audio'}
        </dd>
        <dt>Keyframe interval</dt>
        <dd>{video.keyframeIntervalS !== null ? `${video.keyframeIntervalS.toFixed(1)} s` : 'unknown'}</dd>
        <dt>Since last segment</dt>
        <dd>{sinceSegment !== null ? `${sinceSegment} s` : 'none yet'}</dd>
      </dl>
    </>
  );
}

/**
 * What viewers see, and the glass-to-glass delay: now minus the wall-clock time of the frame on
 * screen (the playlist's PROGRAM-DATE-TIME, stamped by the ingest as it received the stream), so
 * the encoder's own delay is not in it. Before the player knows, an estimate: the player stays
 * 2 segments behind the live edge, plus the segment being written.
 */
function Preview({ src, segmentS }: { src: string; segmentS: number | null }) {
  const box = useRef<HTMLDivElement>(null);
  const [delayMs, setDelayMs] = useState<number | null>(null);
  useEffect(() => {
    const timer = setInterval(() => {
      const at = Number(box.current?.querySelector('video')?.dataset.playingDate);
      setDelayMs(at > 0 ? Date.now() - at : null);
    }, 1_000);
    return () => clearInterval(timer);
  }, []);
  const estimate = segmentS !== null ? segmentS * 3 : null;
  return (
    <div className="preview" ref={box}>
      <Player src={src} ended={false} label="Preview" measure crossOrigin />
      <p role="status" aria-label="Glass-to-glass delay">
        {delayMs !== null
          ? `Glass-to-glass delay: ${(delayMs / 1000).toFixed(1)} s`
          : estimate !== null
            ? `Glass-to-glass delay (estimate): ${estimate.toFixed(1)} s`
            : 'Glass-to-glass delay: measuring…'}
      </p>
    </div>
  );
}
