import type { FastifyBaseLogger } from 'fastify';

/** Topics logged one by one per second; past that, one line per second says how many more. */
const LINES_PER_SECOND = 20;
const WINDOW_MS = 1000;

/**
 * Logs the topics whose viewers were told to resync. A resync is worth a line each — but after a
 * store loss every topic of a node resyncs at once, and 100,000 log lines would cost the node
 * seconds: beyond LINES_PER_SECOND a window, the rest are counted and summed up in one line.
 */
export class ResyncLog {
  private windowStart = 0;
  private lines = 0;
  private more = 0;
  private lastWhy = '';
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly log: FastifyBaseLogger,
    private readonly now: () => number = Date.now,
  ) {}

  told(topic: string, why: string): void {
    const now = this.now();
    if (now - this.windowStart >= WINDOW_MS) {
      this.flush();
      this.windowStart = now;
      this.lines = 0;
    }
    if (this.lines < LINES_PER_SECOND) {
      this.lines++;
      this.log.warn({ topic, why }, 'viewers of a topic told to resync');
      return;
    }
    this.more++;
    this.lastWhy = why;
    if (!this.timer) {
      this.timer = setTimeout(() => this.flush(), WINDOW_MS - (now - this.windowStart));
      this.timer.unref();
    }
  }

  private flush(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    if (this.more === 0) return;
    this.log.warn({ topics: this.more, lastWhy: this.lastWhy }, 'viewers of more topics told to resync');
    this.more = 0;
  }
}
