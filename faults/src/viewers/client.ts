import { type EventSourceLike, RealtimeClient, type TokenSource, type UntypedEvents } from '@ovation/client';
import { EventSource } from 'eventsource';
import { EVENT_TYPES, type ViewerRecord } from './record.js';

/**
 * The project's own browser client (`RealtimeClient`, backoff and node choice included), run in
 * Node over the standard `eventsource` package: what the viewer page runs, minus React.
 */
export class ClientViewer {
  private readonly client: RealtimeClient<UntypedEvents>;

  constructor(
    readonly record: ViewerRecord,
    nodeUrls: readonly string[],
    options: { random: () => number; reload: (record: ViewerRecord) => Promise<void> },
  ) {
    this.client = new RealtimeClient<UntypedEvents>({
      urls: nodeUrls,
      topics: [record.spec.topic],
      ...(record.spec.member ? { token: fixedToken(record.spec.member.token) } : {}),
      eventTypes: EVENT_TYPES,
      random: options.random,
      reportLatency: false,
      createEventSource: (url) => new EventSource(url) as unknown as EventSourceLike,
      onEvent: (event) => record.event(event.type, event.id, event.data, event.replayed === true),
      onStatus: (status) => {
        if (status === 'open') record.connected();
        else record.open = false;
        if (status === 'reconnecting') record.errors++;
      },
      onResync: () => {
        record.resync('resync');
        void options.reload(record);
      },
    });
  }

  start(): void {
    this.client.start();
  }

  stop(): void {
    this.client.stop();
  }
}

/** A token valid for hours (the suite's run is minutes): renewing gives the same one. */
function fixedToken(token: string): TokenSource {
  const current = { token, expiresAt: Date.now() + 3600_000 };
  return { current, renew: async () => current };
}
