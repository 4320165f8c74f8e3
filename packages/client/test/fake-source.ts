import type { EventSourceLike } from '../src/realtime-client.js';

/** A scriptable EventSource: the test plays the server. */
export class FakeSource implements EventSourceLike {
  static all: FakeSource[] = [];
  onerror: ((event: unknown) => void) | null = null;
  closed = false;
  private listeners = new Map<string, Array<(event: { data: string }) => void>>();

  constructor(readonly url: string) {
    FakeSource.all.push(this);
  }

  addEventListener(type: string, listener: (event: { data: string }) => void): void {
    this.listeners.set(type, [...(this.listeners.get(type) ?? []), listener]);
  }

  close(): void {
    this.closed = true;
  }

  emit(type: string, data: unknown): void {
    for (const listener of this.listeners.get(type) ?? []) listener({ data: JSON.stringify(data) });
  }

  /** The stream fails; `event` is what the EventSource passes (Node's `eventsource` sets `code`). */
  fail(event: object = {}): void {
    this.onerror?.(event);
  }

  get node(): string {
    return this.url.split('/connect')[0] as string;
  }

  get params(): URLSearchParams {
    return new URL(this.url).searchParams;
  }
}

export const latest = () => FakeSource.all.at(-1) as FakeSource;

export function connect(source: FakeSource, connectionId = 'c1') {
  source.emit('connected', { connectionId, nodeId: 'n', region: 'local' });
}
