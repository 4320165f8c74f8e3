import { connect, type Socket } from 'node:net';
import { SseParser } from '@ovation/shared';
import { EVENT_TYPES, envelopeOf, tokenQuery, type ViewerRecord } from './record.js';

const TYPES = new Set<string>(EVENT_TYPES);

/**
 * "curl in a loop": a raw socket that sends `GET /connect` with the last id it saw as
 * `Last-Event-ID`, reads frames until the stream ends, waits the `retry:` the server asked for
 * (1 s until told) and does it again — on the next node of its region if the last one refused.
 */
export class RawViewer {
  private socket: Socket | undefined;
  private lastEventId: string | undefined;
  private retryMs = 1000;
  private nodeIndex: number;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;

  constructor(
    readonly record: ViewerRecord,
    private readonly nodePorts: readonly number[],
    startAt: number,
    private readonly reload: (record: ViewerRecord) => Promise<void>,
  ) {
    this.nodeIndex = startAt;
  }

  start(): void {
    if (this.stopped) return;
    const port = this.nodePorts[this.nodeIndex % this.nodePorts.length] as number;
    const socket = connect(port, '127.0.0.1');
    this.socket = socket;
    const parser = new SseParser();
    let head = '';
    let inBody = false;
    let received = false;
    socket.setEncoding('utf8');
    socket.on('connect', () => {
      const lastId = this.lastEventId ? `Last-Event-ID: ${this.lastEventId}\r\n` : '';
      socket.write(
        `GET /connect?topics=${encodeURIComponent(this.record.spec.topic)}${tokenQuery(this.record.spec)} HTTP/1.1\r\n` +
          'Host: 127.0.0.1\r\n' +
          `Accept: text/event-stream\r\n${lastId}\r\n`,
      );
    });
    socket.on('data', (chunk: string) => {
      received = true;
      let text = chunk;
      if (!inBody) {
        head += text;
        const end = head.indexOf('\r\n\r\n');
        if (end === -1) return;
        inBody = true;
        text = head.slice(end + 4);
        if (!head.startsWith('HTTP/1.1 200')) this.record.errors++;
      }
      for (const line of text.split('\n')) {
        const retry = /^retry: (\d+)\r?$/.exec(line);
        if (retry) this.retryMs = Number(retry[1]);
      }
      for (const frame of parser.push(text)) this.frame(frame.event, frame.data, frame.id);
    });
    const again = () => {
      if (this.socket !== socket || this.stopped) return;
      this.socket = undefined;
      this.record.open = false;
      // Refused or cut before anything came: that node may be gone; try the next one.
      if (!received) this.nodeIndex++;
      this.timer = setTimeout(() => this.start(), received ? this.retryMs : 250);
    };
    socket.on('close', again);
    socket.on('error', () => {
      this.record.errors++;
    });
  }

  private frame(event: string, data: string, id: string | undefined): void {
    if (event === 'connected') this.record.connected();
    else if (event === 'resync') {
      const { data: payload } = envelopeOf(data);
      this.record.resync(typeof payload.reason === 'string' ? payload.reason : 'resync');
      void this.reload(this.record);
    } else if (TYPES.has(event)) {
      const envelope = envelopeOf(data);
      this.record.event(event, envelope.id ?? id, envelope.data, envelope.replayed);
    }
    if (id) this.lastEventId = id;
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
    this.socket?.destroy();
  }
}
