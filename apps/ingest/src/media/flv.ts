/*
 * FLV, what ffmpeg reads on its stdin: RTMP audio, video and data messages are FLV tag bodies
 * already, so each becomes a tag with an 11-byte header and a 4-byte trailer around the same bytes.
 *
 *   header:  'FLV' 1 flags(5: audio+video) size(9) | previous tag size 0
 *   tag:     type(8|9|18) size(24) timestamp(24) timestamp-high(8) stream(24, 0) | body | 11+size(32)
 */

export const FLV_AUDIO = 8;
export const FLV_VIDEO = 9;
export const FLV_SCRIPT = 18;

export function flvHeader(): Buffer {
  return Buffer.of(0x46, 0x4c, 0x56, 0x01, 0x05, 0, 0, 0, 9, 0, 0, 0, 0);
}

/** A tag's header and trailer; write `header, body, trailer` (the body is not copied). */
export function flvTagFrame(type: number, timestamp: number, bodyLength: number): { header: Buffer; trailer: Buffer } {
  const header = Buffer.alloc(11);
  header[0] = type;
  header.writeUIntBE(bodyLength, 1, 3);
  const ts = timestamp >>> 0;
  header.writeUIntBE(ts & 0xffffff, 4, 3);
  header[7] = ts >>> 24;
  const trailer = Buffer.alloc(4);
  trailer.writeUInt32BE(11 + bodyLength);
  return { header, trailer };
}

const VIDEO_CODECS: Record<number, string> = { 2: 'h263', 4: 'vp6', 7: 'h264', 12: 'hevc' };
const AUDIO_CODECS: Record<number, string> = { 1: 'adpcm', 2: 'mp3', 10: 'aac', 11: 'speex', 14: 'mp3' };

export const videoCodecName = (id: number | undefined) => (id === undefined ? null : (VIDEO_CODECS[id] ?? null));
export const audioCodecName = (id: number | undefined) => (id === undefined ? null : (AUDIO_CODECS[id] ?? null));

export interface VideoTagInfo {
  codecId: number;
  keyframe: boolean;
  /** A coded frame (not a sequence header or end of sequence). */
  frame: boolean;
}

/** The first bytes of a video tag body: frame type (1: key) and codec; for AVC/HEVC, the packet type. */
export function readVideoTag(body: Buffer): VideoTagInfo | undefined {
  const first = body[0];
  if (first === undefined) return undefined;
  const codecId = first & 0x0f;
  const frameType = first >> 4;
  // Frame type 5 is a command frame (no picture); AVC and HEVC say 1 for a coded frame.
  const hasPacketType = codecId === 7 || codecId === 12;
  const frame = frameType !== 5 && (!hasPacketType || body[1] === 1);
  return { codecId, keyframe: frameType === 1 && frame, frame };
}

export interface AudioTagInfo {
  codecId: number;
  /** From an AAC sequence header (AudioSpecificConfig), the only place it is exact. */
  sampleRate?: number;
}

const AAC_SAMPLE_RATES = [96000, 88200, 64000, 48000, 44100, 32000, 24000, 22050, 16000, 12000, 11025, 8000, 7350];

export function readAudioTag(body: Buffer): AudioTagInfo | undefined {
  const first = body[0];
  if (first === undefined) return undefined;
  const codecId = first >> 4;
  if (codecId !== 10 || body[1] !== 0 || body.length < 4) return { codecId };
  // AudioSpecificConfig: 5 bits object type, 4 bits sampling frequency index.
  const index = ((body.readUInt16BE(2) >> 7) & 0x0f) as number;
  const sampleRate = AAC_SAMPLE_RATES[index];
  return sampleRate === undefined ? { codecId } : { codecId, sampleRate };
}
