import { EventSource } from 'eventsource';
import { EVENT_TYPES, envelopeOf, tokenQuery, type ViewerRecord } from './record.js';

/**
 * A standard EventSource (the `eventsource` package, which follows the WHATWG spec) pointed at one
 * URL — the region's balancer — and left to itself: it reconnects with `Last-Event-ID` after the
 * `retry:` the server sent, and gives up for good on any error status, as every EventSource does.
 */
export class StandardViewer {
  private source: EventSource | undefined;

  constructor(
    readonly record: ViewerRecord,
    private readonly url: string,
    private readonly reload: (record: ViewerRecord) => Promise<void>,
  ) {}

  start(): void {
    const { record } = this;
    const source = new EventSource(
      `${this.url}/connect?topics=${encodeURIComponent(record.spec.topic)}${tokenQuery(record.spec)}`,
    );
    this.source = source;
    source.addEventListener('connected', () => record.connected());
    source.addEventListener('error', () => {
      record.open = false;
      record.errors++;
    });
    source.addEventListener('resync', (event) => {
      const { data } = envelopeOf(event.data);
      record.resync(typeof data.reason === 'string' ? data.reason : 'resync');
      void this.reload(record);
    });
    for (const type of EVENT_TYPES) {
      source.addEventListener(type, (event) => {
        const envelope = envelopeOf(event.data);
        record.event(type, envelope.id, envelope.data, envelope.replayed);
      });
    }
  }

  /** CLOSED means it gave up for good (an error status): the suite counts that as a failure. */
  get gaveUp(): boolean {
    return this.source?.readyState === 2;
  }

  stop(): void {
    this.source?.close();
  }
}
