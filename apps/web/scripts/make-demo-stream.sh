#!/usr/bin/env bash
# Makes the bundled demo stream once (its output is committed; ffmpeg is not needed to run Ovation):
# a 10 s test pattern with a 440 Hz tone, H.264 baseline + AAC, cut into five 2 s MPEG-TS segments
# (a keyframe at every segment start). app/demo/live.m3u8/route.ts loops them as an endless live
# playlist. Run from apps/web: bash scripts/make-demo-stream.sh
set -euo pipefail
out=public/demo
mkdir -p "$out"
rm -f "$out"/seg*.ts
ffmpeg -hide_banner -loglevel error -y \
  -f lavfi -i "testsrc2=size=640x360:rate=25:duration=10" \
  -f lavfi -i "sine=frequency=440:sample_rate=44100:duration=10" \
  -c:v libx264 -profile:v baseline -level 3.0 -pix_fmt yuv420p -preset veryfast \
  -b:v 500k -maxrate 600k -bufsize 1200k -g 50 -keyint_min 50 -sc_threshold 0 \
  -c:a aac -b:a 64k -ac 2 \
  -f hls -hls_time 2 -hls_list_size 0 -hls_segment_type mpegts \
  -hls_segment_filename "$out/seg%d.ts" "$out/source.m3u8"
rm -f "$out/source.m3u8"
ls -l "$out"
