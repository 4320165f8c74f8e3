'use client';

import { useQueryClient } from '@tanstack/react-query';
import { useEffect, useRef, useState } from 'react';
import { queryKeys } from './query-client';

/**
 * Counts the times a video's encoder stream (ingest) went live after the page loaded it — the
 * first time, and again after each interruption — and reloads the video each time: its playlist
 * may be new (an upcoming video's stream replaces its placeholder), and a player should start
 * afresh on a new encoder session (key a Player with the count).
 */
export function useStreamGeneration(videoId: string, stream: 'live' | 'interrupted' | undefined, loaded: boolean) {
  const queryClient = useQueryClient();
  const [generation, setGeneration] = useState(0);
  const last = useRef<typeof stream | 'unloaded'>('unloaded');
  useEffect(() => {
    if (!loaded) return;
    if (last.current !== 'unloaded' && stream === 'live' && last.current !== 'live') {
      setGeneration((g) => g + 1);
      void queryClient.invalidateQueries({ queryKey: queryKeys.video(videoId) });
    }
    last.current = stream;
  }, [stream, loaded, queryClient, videoId]);
  return generation;
}
