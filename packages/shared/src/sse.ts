/*
 * Server-Sent Events framing (https://html.spec.whatwg.org/multipage/server-sent-events.html).
 * The encoder runs once per event on the server; the parser serves Node clients (tests, bench)
 * and browsers reading a stream without EventSource.
 */

export interface SseFrame {
  id?: string;
  event: string;
  data: string;
}

/** One frame as text. `data` must be a single line (JSON.stringify output always is). */
export function encodeFrame(event: string, data: string, id?: string): string {
  return id === undefined ? `event: ${event}\ndata: ${data}\n\n` : `id: ${id}\nevent: ${event}\ndata: ${data}\n\n`;
}

/** A comment line: ignored by clients, used to flush a stream open through proxies. */
export function encodeComment(text: string): string {
  return `: ${text}\n\n`;
}

/**
 * Incremental parser: feed it decoded text chunks in order, get complete frames back.
 * Frames without `data` are dropped, as EventSource does.
 */
export class SseParser {
  private buffer = '';
  private id: string | undefined;
  private event = '';
  private data: string[] = [];

  push(chunk: string): SseFrame[] {
    this.buffer += chunk;
    const frames: SseFrame[] = [];
    let start = 0;
    for (;;) {
      const newline = this.buffer.indexOf('\n', start);
      if (newline === -1) break;
      let line = this.buffer.slice(start, newline);
      if (line.endsWith('\r')) line = line.slice(0, -1);
      start = newline + 1;
      this.line(line, frames);
    }
    this.buffer = this.buffer.slice(start);
    return frames;
  }

  private line(line: string, frames: SseFrame[]): void {
    if (line === '') {
      if (this.data.length > 0) {
        const frame: SseFrame = { event: this.event || 'message', data: this.data.join('\n') };
        if (this.id !== undefined) frame.id = this.id;
        frames.push(frame);
      }
      this.id = undefined;
      this.event = '';
      this.data = [];
      return;
    }
    if (line.startsWith(':')) return;
    const colon = line.indexOf(':');
    const field = colon === -1 ? line : line.slice(0, colon);
    let value = colon === -1 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'data') this.data.push(value);
    else if (field === 'event') this.event = value;
    else if (field === 'id') this.id = value;
  }
}
