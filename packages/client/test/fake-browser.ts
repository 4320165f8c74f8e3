import type { ChannelLike } from '../src/shared-connection.js';
import type { LockManagerLike } from '../src/shared-hub.js';

/*
 * The browser's side of a shared connection, played by fakes: a lock manager granting one holder
 * per name at a time in request order, and BroadcastChannels delivering (asynchronously, copied)
 * to every other channel of the name.
 */

export class FakeLocks {
  private held = new Map<string, boolean>();
  private queue: Array<{ name: string; signal?: AbortSignal; callback: () => Promise<void>; done: () => void }> = [];

  manager(): LockManagerLike {
    return {
      request: (name, options, callback) =>
        new Promise<void>((resolve, reject) => {
          options.signal?.addEventListener('abort', () => {
            const index = this.queue.findIndex((w) => w.callback === callback);
            if (index >= 0) this.queue.splice(index, 1);
            reject(new Error('aborted'));
          });
          this.queue.push({ name, ...(options.signal ? { signal: options.signal } : {}), callback, done: resolve });
          this.grant();
        }),
    };
  }

  private grant(): void {
    for (const waiter of [...this.queue]) {
      if (this.held.get(waiter.name)) continue;
      this.queue.splice(this.queue.indexOf(waiter), 1);
      this.held.set(waiter.name, true);
      void waiter.callback().then(() => {
        this.held.set(waiter.name, false);
        waiter.done();
        this.grant();
      });
    }
  }
}

export class FakeBus {
  private channels = new Set<FakeChannel>();

  channel(name: string): ChannelLike {
    const channel = new FakeChannel(name, this);
    this.channels.add(channel);
    return channel;
  }

  deliver(from: FakeChannel, message: unknown): void {
    const copy = JSON.parse(JSON.stringify(message)) as unknown;
    for (const channel of this.channels) {
      if (channel !== from && channel.name === from.name && !channel.closed) {
        queueMicrotask(() => {
          if (!channel.closed) (channel.onmessage as ((event: { data: unknown }) => void) | null)?.({ data: copy });
        });
      }
    }
  }

  remove(channel: FakeChannel): void {
    this.channels.delete(channel);
  }
}

export class FakeChannel implements ChannelLike {
  onmessage: ((event: never) => void) | null = null;
  closed = false;

  constructor(
    readonly name: string,
    private readonly bus: FakeBus,
  ) {}

  postMessage(message: unknown): void {
    if (!this.closed) this.bus.deliver(this, message);
  }

  close(): void {
    this.closed = true;
    this.bus.remove(this);
  }
}
