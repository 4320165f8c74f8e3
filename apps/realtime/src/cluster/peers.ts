import { PeersMessageSchema, type TWorkerListening } from './messages.js';

/**
 * A worker's view of the other workers of its machine: index → internal listener URL, as the
 * primary last broadcast it (cluster/primary.ts). A worker that is down or restarting is absent.
 */
export class ClusterPeers {
  private peers = new Map<number, string>();

  constructor(readonly index: number) {
    process.on('message', (message: unknown) => {
      const parsed = PeersMessageSchema.safeParse(message);
      if (!parsed.success) return;
      this.peers = new Map(Object.entries(parsed.data.peers).map(([i, url]) => [Number(i), url]));
    });
  }

  /** Tells the primary this worker's internal listener is up (it then tells every worker). */
  announce(url: string): void {
    const message: TWorkerListening = { type: 'listening', index: this.index, url };
    process.send?.(message);
  }

  urlOf(index: number): string | undefined {
    return this.peers.get(index);
  }

  /** The other workers' internal URLs. */
  others(): string[] {
    return [...this.peers].filter(([index]) => index !== this.index).map(([, url]) => url);
  }

  /** A connection id minted by worker i starts with `<i>-` (connections/hub.ts). */
  static idPrefix(index: number): string {
    return `${index}-`;
  }

  /** The worker that minted a connection id; undefined for an id without a worker prefix. */
  static ownerOf(connectionId: string): number | undefined {
    const match = /^(\d{1,2})-/.exec(connectionId);
    return match ? Number(match[1]) : undefined;
  }
}
