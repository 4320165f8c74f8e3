/** What ffmpeg's live playlist says: the segments listed, how many came before them, the last one's length. */
export interface PlaylistInfo {
  mediaSequence: number;
  segments: string[];
  lastDurationS: number | null;
}

/**
 * Reads an HLS media playlist as ffmpeg's hls muxer writes it (`#EXTINF:<s>,` then the segment's
 * name). With delete_segments the list slides: segments written so far = media sequence + listed.
 */
export function readPlaylist(text: string): PlaylistInfo {
  let mediaSequence = 0;
  let lastDurationS: number | null = null;
  const segments: string[] = [];
  let pendingDuration: number | null = null;
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line.startsWith('#EXT-X-MEDIA-SEQUENCE:')) {
      const value = Number(line.slice('#EXT-X-MEDIA-SEQUENCE:'.length));
      if (Number.isInteger(value) && value >= 0) mediaSequence = value;
    } else if (line.startsWith('#EXTINF:')) {
      const value = Number.parseFloat(line.slice('#EXTINF:'.length));
      pendingDuration = Number.isFinite(value) && value >= 0 ? value : null;
    } else if (line !== '' && !line.startsWith('#')) {
      segments.push(line);
      lastDurationS = pendingDuration;
      pendingDuration = null;
    }
  }
  return { mediaSequence, segments, lastDurationS };
}
