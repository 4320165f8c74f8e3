import type { TIngestHealth } from '@ovation/shared';
import type { StreamMetadata } from '../rtmp/metadata.js';
import { audioCodecName, readAudioTag, readVideoTag, videoCodecName } from './flv.js';
import { RateWindow } from './rate-window.js';

export const STATS_WINDOW_MS = 5000;

/** What the packager's playlist says (playlist.ts), for the health report. */
export interface SegmentStats {
  segments: number;
  lastSegmentAt: Date | null;
  segmentDurationS: number | null;
}

/**
 * The encoder's stream as measured here, for the studio's health panel: counts and two 5-second
 * windows, updated per message (a few arithmetic operations; no allocation).
 */
export class StreamStats {
  bytesIn = 0;
  frames = 0;
  private readonly bytes = new RateWindow(STATS_WINDOW_MS);
  private readonly frameWindow = new RateWindow(STATS_WINDOW_MS);
  private metadata: StreamMetadata = {};
  private videoCodecId: number | undefined;
  private audioCodecId: number | undefined;
  private audioSampleRate: number | undefined;
  /** RTMP timestamps (ms) of the last two keyframes. */
  private keyframes: [number | undefined, number | undefined] = [undefined, undefined];

  constructor(
    readonly connectedAt: Date,
    private readonly startedAt: number,
  ) {}

  setMetadata(metadata: StreamMetadata): void {
    this.metadata = metadata;
  }

  media(kind: 'audio' | 'video', timestamp: number, body: Buffer, now: number): void {
    this.bytesIn += body.length;
    this.bytes.add(body.length, now);
    if (kind === 'audio') {
      const audio = readAudioTag(body);
      if (!audio) return;
      this.audioCodecId = audio.codecId;
      if (audio.sampleRate !== undefined) this.audioSampleRate = audio.sampleRate;
      return;
    }
    const video = readVideoTag(body);
    if (!video) return;
    this.videoCodecId = video.codecId;
    if (!video.frame) return;
    this.frames++;
    this.frameWindow.add(1, now);
    if (video.keyframe) this.keyframes = [this.keyframes[1], timestamp];
  }

  /** Bytes received over the last 5 seconds (the bitrate cap is checked against it). */
  recentBytes(now: number): number {
    return this.bytes.sum(now);
  }

  health(now: number, segments: SegmentStats): TIngestHealth {
    // Over the span the windows cover (5 s, or since the publish began when that is shorter; at
    // least 1 s, so the first messages do not read as a huge rate).
    const spanS = Math.max(1000, now - Math.max(this.bytes.windowStart(now), this.startedAt)) / 1000;
    const [previousKey, lastKey] = this.keyframes;
    const measuredFps = this.frames > 0 ? this.frameWindow.sum(now) / spanS : undefined;
    return {
      connectedAt: this.connectedAt.toISOString(),
      bytesIn: this.bytesIn,
      bitrateKbps: round((this.bytes.sum(now) * 8) / 1000 / spanS, 1),
      video: {
        codec: videoCodecName(this.videoCodecId ?? this.metadata.videoCodecId),
        width: this.metadata.width ?? null,
        height: this.metadata.height ?? null,
        fps: measuredFps === undefined ? (this.metadata.framerate ?? null) : round(measuredFps, 2),
        frames: this.frames,
        keyframeIntervalS:
          previousKey === undefined || lastKey === undefined
            ? null
            : round((((lastKey - previousKey) >>> 0) as number) / 1000, 3),
      },
      audio: {
        codec: audioCodecName(this.audioCodecId ?? this.metadata.audioCodecId),
        sampleRate: this.audioSampleRate ?? this.metadata.audioSampleRate ?? null,
      },
      segments: segments.segments,
      lastSegmentAt: segments.lastSegmentAt?.toISOString() ?? null,
      segmentDurationS: segments.segmentDurationS,
    };
  }
}

function round(value: number, digits: number): number {
  const scale = 10 ** digits;
  return Math.round(value * scale) / scale;
}
