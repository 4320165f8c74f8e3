import type { AmfObject } from './amf0.js';

/** What an encoder's onMetaData says about its stream (each field only when it says it sanely). */
export interface StreamMetadata {
  width?: number;
  height?: number;
  framerate?: number;
  videoCodecId?: number;
  audioCodecId?: number;
  audioSampleRate?: number;
}

/** A dimension or rate as a finite positive number of at most `max`; undefined otherwise. */
function positive(value: unknown, max: number): number | undefined {
  return typeof value === 'number' && Number.isFinite(value) && value > 0 && value <= max ? value : undefined;
}

/** Codec ids are numbers in FLV; some encoders write the FourCC instead ('avc1', 'mp4a'). */
function codecId(value: unknown, fourCcs: Record<string, number>): number | undefined {
  if (typeof value === 'number' && Number.isInteger(value) && value >= 0 && value < 256) return value;
  if (typeof value === 'string') return fourCcs[value];
  return undefined;
}

export function readStreamMetadata(properties: AmfObject): StreamMetadata {
  const metadata: StreamMetadata = {};
  const width = positive(properties.width, 16_384);
  const height = positive(properties.height, 16_384);
  const framerate = positive(properties.framerate ?? properties.videoframerate, 1000);
  const videoCodecId = codecId(properties.videocodecid, { avc1: 7, hvc1: 12, hev1: 12 });
  const audioCodecId = codecId(properties.audiocodecid, { mp4a: 10, '.mp3': 2 });
  const audioSampleRate = positive(properties.audiosamplerate, 384_000);
  if (width !== undefined) metadata.width = Math.round(width);
  if (height !== undefined) metadata.height = Math.round(height);
  if (framerate !== undefined) metadata.framerate = framerate;
  if (videoCodecId !== undefined) metadata.videoCodecId = videoCodecId;
  if (audioCodecId !== undefined) metadata.audioCodecId = audioCodecId;
  if (audioSampleRate !== undefined) metadata.audioSampleRate = Math.round(audioSampleRate);
  return metadata;
}
