import { type ClientRequest, request } from 'node:http';
import { SseParser } from '@ovation/shared';

/**
 * A viewer that behaves like the browser client on failure, for failover tests: when its stream
 * breaks it reconnects at once to another node, and when told `reconnect {afterMs}` it keeps
 * reading until then and moves; either way with `lastEventId` = the last id it saw. It records
 * every event (with the node it came from), every connection, and anything that looks like an
 * error (a non-200 answer, a request error), so a test can check "exactly once, in order".
 */
export class ResumingViewer {
  /** Events received, in order: type, id, the envelope's data, whether it was replayed. */
  readonly events: Array<{ type: string; id: string | undefined; data: Record<string, unknown>; replayed: boolean }> =
    [];
  /** One entry per `connected` frame: when (ms since epoch), on which node. */
  readonly connections: Array<{ at: number; node: string }> = [];
  /** `reconnect` frames received: when, with which delay. */
  readonly reconnects: Array<{ at: number; afterMs: number }> = [];
  readonly errors: string[] = [];
  readonly resyncs: Array<Record<string, unknown>> = [];
  private lastEventId: string | undefined;
  private current: ClientRequest | undefined;
  private nodeIndex: number;
  private stopped = false;
  private moving = false;

  constructor(
    private readonly nodeUrls: () => readonly string[],
    private readonly topics: readonly string[],
    startAt: number,
  ) {
    this.nodeIndex = startAt;
  }

  get node(): string {
    const urls = this.nodeUrls();
    return urls[this.nodeIndex % urls.length] as string;
  }

  get connected(): boolean {
    return this.current !== undefined && this.connections.length > 0;
  }

  open(): void {
    if (this.stopped) return;
    const node = this.node;
    const params = new URLSearchParams({ topics: this.topics.join(',') });
    if (this.lastEventId) params.set('lastEventId', this.lastEventId);
    const parser = new SseParser();
    let told = false;
    const req = request(
      `${node}/connect?${params}`,
      { headers: { accept: 'text/event-stream' }, agent: false },
      (res) => {
        if (res.statusCode !== 200) {
          this.errors.push(`${node} answered ${res.statusCode}`);
          res.resume();
          res.on('end', () => this.next(0));
          return;
        }
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          for (const frame of parser.push(chunk)) {
            if (frame.event === 'connected') this.connections.push({ at: Date.now(), node });
            else if (frame.event === 'reconnect') {
              told = true;
              const afterMs = (JSON.parse(frame.data) as { afterMs: number }).afterMs;
              this.reconnects.push({ at: Date.now(), afterMs });
              setTimeout(() => {
                if (this.current === req) this.next(0);
              }, afterMs);
            } else if (frame.event === 'resync') this.resyncs.push(JSON.parse(frame.data) as Record<string, unknown>);
            else if (frame.event !== 'heartbeat') {
              const envelope = JSON.parse(frame.data) as { data: Record<string, unknown>; replayed?: boolean };
              this.events.push({
                type: frame.event,
                id: frame.id,
                data: envelope.data,
                replayed: envelope.replayed === true,
              });
            }
            if (frame.id) this.lastEventId = frame.id;
          }
        });
        res.on('close', () => {
          // A stream that ends after `reconnect` is expected: the move is already scheduled.
          if (this.current === req && !told) this.next(0);
        });
      },
    );
    req.on('error', (error) => {
      if (this.current !== req) return;
      if (!this.stopped) this.errors.push(`${node}: ${error.message}`);
      this.next(50);
    });
    req.end();
    this.current = req;
  }

  /** Moves to the next node after `delayMs`. */
  private next(delayMs: number): void {
    if (this.stopped || this.moving) return;
    this.moving = true;
    const previous = this.current;
    this.current = undefined;
    previous?.destroy();
    this.nodeIndex++;
    setTimeout(() => {
      this.moving = false;
      this.open();
    }, delayMs);
  }

  /** Data of the events of one type, in order. */
  of(type: string): Array<Record<string, unknown>> {
    return this.events.filter((e) => e.type === type).map((e) => e.data);
  }

  close(): void {
    this.stopped = true;
    this.current?.destroy();
    this.current = undefined;
  }
}
