'use client';

import { type ConnectTokenValue, RealtimeClient, type TEventEnvelope } from '@ovation/shared';
import { useEffect, useRef } from 'react';
import { realtimeTokenSource } from './realtime-token';

/**
 * Listens to some event types of some topics (for lists: the home page and the studio refresh
 * when a video's status changes, from the `videos` topic). The page's video itself uses
 * useVideoRealtime, which also keeps its state.
 */
export function useRealtimeEvents(
  realtimeUrls: readonly string[],
  topics: readonly string[],
  eventTypes: readonly string[],
  onEvent: (event: TEventEnvelope) => void,
  /** The connection token the page came with (for the `videos` topic); renewed when due. */
  initialToken?: ConnectTokenValue,
) {
  const handler = useRef(onEvent);
  handler.current = onEvent;
  const token = useRef(initialToken);
  const urls = realtimeUrls.join(',');
  const topicList = topics.join(',');
  const types = eventTypes.join(',');
  useEffect(() => {
    if (!urls || !topicList) return;
    const client = new RealtimeClient({
      urls: urls.split(','),
      topics: topicList.split(','),
      token: realtimeTokenSource(undefined, token.current),
      eventTypes: types.split(','),
      onEvent: (event) => handler.current(event),
      reportLatency: false,
    });
    client.start();
    return () => client.stop();
  }, [urls, topicList, types]);
}
