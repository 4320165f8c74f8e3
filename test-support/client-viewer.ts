import { type EventSourceLike, RealtimeClient, type UntypedEvents } from '@ovation/client';
import { EventSource } from 'eventsource';

/**
 * The project's own browser client (`RealtimeClient`: its node choice, backoff and drain
 * handling included), run in Node over the standard `eventsource` package, for failover tests:
 * what happens to a viewer is what happens to the page. Records every event, every connection
 * (when, on which node), every resync and error.
 */
export class ClientViewer {
  readonly events: Array<{ type: string; id: string; data: Record<string, unknown>; replayed: boolean; at: number }> =
    [];
  readonly connections: Array<{ at: number; node: string }> = [];
  readonly resyncs: number[] = [];
  /** Every status change (connecting, open, reconnecting, …), with the node it concerns. */
  readonly statuses: Array<{ at: number; status: string; node: string | undefined }> = [];
  private readonly client: RealtimeClient<UntypedEvents>;

  constructor(urls: readonly string[], topics: readonly string[], options: { preferredUrl?: string } = {}) {
    this.client = new RealtimeClient<UntypedEvents>({
      urls,
      topics,
      eventTypes: ['snapshot', 'comment', 'like', 'viewers', 'status', 'comment_deleted'],
      reportLatency: false,
      ...(options.preferredUrl ? { preferredUrl: options.preferredUrl } : {}),
      createEventSource: (url) => new EventSource(url) as unknown as EventSourceLike,
      onEvent: (event) =>
        this.events.push({
          type: event.type,
          id: event.id,
          data: event.data,
          replayed: event.replayed === true,
          at: Date.now(),
        }),
      onStatus: (status, detail) => {
        this.statuses.push({ at: Date.now(), status, node: detail.nodeUrl });
        if (status === 'open') this.connections.push({ at: Date.now(), node: detail.nodeUrl ?? '' });
      },
      onResync: () => this.resyncs.push(Date.now()),
    });
  }

  start(): this {
    this.client.start();
    return this;
  }

  /** Data of the events of one type, in order. */
  of(type: string): Array<Record<string, unknown>> {
    return this.events.filter((e) => e.type === type).map((e) => e.data);
  }

  close(): void {
    this.client.stop();
  }
}
