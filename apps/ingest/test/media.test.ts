import { describe, expect, it } from 'vitest';
import { flvHeader, flvTagFrame, readAudioTag, readVideoTag } from '../src/media/flv.js';
import { packagerArgs } from '../src/media/packager.js';
import { readPlaylist } from '../src/media/playlist.js';
import { RateWindow } from '../src/media/rate-window.js';
import { StreamStats } from '../src/media/stream-stats.js';
import { readStreamMetadata } from '../src/rtmp/metadata.js';
import { aacFrame, h264Frame } from './rtmp-client.js';

const hex = (text: string) => Buffer.from(text.replace(/\s+/g, ''), 'hex');

describe('FLV', () => {
  it('writes the header and a tag frame as the FLV spec lays them out', () => {
    expect(flvHeader()).toEqual(hex('464c56 01 05 00000009 00000000'));
    const { header, trailer } = flvTagFrame(9, 0x12345678, 300);
    // type, size (24), timestamp low 24 bits, timestamp high 8 bits, stream id 0 (24)
    expect(header).toEqual(hex('09 00012c 345678 12 000000'));
    expect(trailer).toEqual(hex('00000137')); // 11 + 300
  });

  it('reads codec, keyframe and coded-frame flags of video tags', () => {
    expect(readVideoTag(hex('17 00 000000'))).toEqual({ codecId: 7, keyframe: false, frame: false }); // AVC sequence header
    expect(readVideoTag(hex('17 01 000000'))).toEqual({ codecId: 7, keyframe: true, frame: true });
    expect(readVideoTag(hex('27 01 000000'))).toEqual({ codecId: 7, keyframe: false, frame: true });
    expect(readVideoTag(hex('1c 01 000000'))).toEqual({ codecId: 12, keyframe: true, frame: true });
    expect(readVideoTag(hex('52'))).toEqual({ codecId: 2, keyframe: false, frame: false }); // a command frame
    expect(readVideoTag(Buffer.alloc(0))).toBeUndefined();
  });

  it('reads the audio codec, and the sample rate from an AAC sequence header', () => {
    // AudioSpecificConfig 0x1190: AAC LC (2), frequency index 3 (48 kHz), stereo
    expect(readAudioTag(hex('af 00 1190'))).toEqual({ codecId: 10, sampleRate: 48000 });
    expect(readAudioTag(hex('af 00 1210'))).toEqual({ codecId: 10, sampleRate: 44100 });
    expect(readAudioTag(hex('af 01 2100'))).toEqual({ codecId: 10 });
    expect(readAudioTag(hex('2f ff'))).toEqual({ codecId: 2 });
  });
});

describe('the packager command', () => {
  it('is the design doc’s: FLV on stdin, video copied, 1 s HLS segments named seg-N.ts', () => {
    const args = packagerArgs('/hls/v/s').join(' ');
    expect(args).toContain('-f flv -i pipe:0 -c:v copy -c:a aac -b:a 128k -f hls -hls_time 1 -hls_list_size 6');
    expect(args).toContain('-hls_flags independent_segments+program_date_time+delete_segments+omit_endlist+temp_file');
    expect(args).toContain('-hls_segment_filename /hls/v/s/seg-%d.ts /hls/v/s/index.m3u8');
  });

  it('also writes a poster: keyframes only decoded, one JPEG 320 px wide replaced in place every 5 s', () => {
    const args = packagerArgs('/hls/v/s');
    expect(args.join(' ')).toContain('-skip_frame nokey -threads 1 -f flv -i pipe:0');
    const poster = args.slice(args.indexOf('/hls/v/s/index.m3u8') + 1).join(' ');
    expect(poster).toBe(
      "-map 0:v:0 -an -vf select='isnan(prev_selected_t)+gte(t-prev_selected_t\\,5)',scale=320:-2 " +
        '-fps_mode vfr -q:v 5 -threads 1 -f image2 -update 1 -atomic_writing 1 /hls/v/s/poster.jpg',
    );
  });
});

describe('playlist', () => {
  it('counts segments written (media sequence + listed) and reads the last duration', () => {
    const text = [
      '#EXTM3U',
      '#EXT-X-VERSION:6',
      '#EXT-X-TARGETDURATION:1',
      '#EXT-X-MEDIA-SEQUENCE:4',
      '#EXT-X-INDEPENDENT-SEGMENTS',
      '#EXTINF:1.000000,',
      '#EXT-X-PROGRAM-DATE-TIME:2026-12-06T12:01:26.185+0000',
      'seg-4.ts',
      '#EXTINF:0.966667,',
      'seg-5.ts',
      '',
    ].join('\n');
    expect(readPlaylist(text)).toEqual({
      mediaSequence: 4,
      segments: ['seg-4.ts', 'seg-5.ts'],
      lastDurationS: 0.966667,
    });
    expect(readPlaylist('#EXTM3U\n')).toEqual({ mediaSequence: 0, segments: [], lastDurationS: null });
  });
});

describe('measurements', () => {
  it('sums the last 5 s in 250 ms buckets', () => {
    const window = new RateWindow(5000, 250);
    const t0 = 1_700_000_000_000;
    for (let ms = 0; ms < 10_000; ms += 100) window.add(10, t0 + ms);
    // Over the last 5 s (to a bucket): 50 adds of 10.
    expect(window.sum(t0 + 9_999)).toBeGreaterThanOrEqual(480);
    expect(window.sum(t0 + 9_999)).toBeLessThanOrEqual(500);
    expect(window.sum(t0 + 20_000)).toBe(0);
  });

  it('reports a stream’s health from its tags and metadata', () => {
    const t0 = 1_700_000_000_000;
    const stats = new StreamStats(new Date(t0), t0);
    stats.setMetadata(
      readStreamMetadata({ width: 1280, height: 720, framerate: 30, videocodecid: 7, audiocodecid: 10 }),
    );
    stats.media('audio', 0, hex('af 00 1210'), t0);
    for (let frame = 0; frame < 150; frame++) {
      // 25 fps for 6 s, a keyframe every 2 s
      stats.media('video', frame * 40, h264Frame(frame % 50 === 0, 1000), t0 + frame * 40);
      stats.media('audio', frame * 40, aacFrame(250), t0 + frame * 40);
    }
    const health = stats.health(t0 + 6000, { segments: 3, lastSegmentAt: new Date(t0 + 5000), segmentDurationS: 2 });
    expect(health).toMatchObject({
      connectedAt: new Date(t0).toISOString(),
      bytesIn: 4 + 150 * 1250,
      video: { codec: 'h264', width: 1280, height: 720, frames: 150, keyframeIntervalS: 2 },
      audio: { codec: 'aac', sampleRate: 44100 },
      segments: 3,
      lastSegmentAt: new Date(t0 + 5000).toISOString(),
      segmentDurationS: 2,
    });
    expect(health.video.fps).toBeGreaterThan(24);
    expect(health.video.fps).toBeLessThanOrEqual(25);
    // 1250 bytes every 40 ms: 250 kbps
    expect(health.bitrateKbps).toBeGreaterThan(240);
    expect(health.bitrateKbps).toBeLessThanOrEqual(250);
  });

  it('leaves unknown fields null rather than guessing', () => {
    const t0 = 1_700_000_000_000;
    const health = new StreamStats(new Date(t0), t0).health(t0 + 100, {
      segments: 0,
      lastSegmentAt: null,
      segmentDurationS: null,
    });
    expect(health.video).toEqual({
      codec: null,
      width: null,
      height: null,
      fps: null,
      frames: 0,
      keyframeIntervalS: null,
    });
    expect(health.audio).toEqual({ codec: null, sampleRate: null });
    expect(health.bitrateKbps).toBe(0);
  });

  it('takes only sane numbers from onMetaData', () => {
    expect(
      readStreamMetadata({ width: -1, height: Number.NaN, framerate: 1e9, videocodecid: 'avc1', audiocodecid: 'mp4a' }),
    ).toEqual({ videoCodecId: 7, audioCodecId: 10 });
    expect(readStreamMetadata({ width: 639.6, height: '360', videoframerate: 29.97 })).toEqual({
      width: 640,
      framerate: 29.97,
    });
  });
});
