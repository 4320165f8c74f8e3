import { AppError } from '@ovation/shared';

/*
 * Bounds on what one client can hold on a node: connections per viewer (a token names them) and
 * per address (every connection, tokenless ones included). The per-address bound is high (an office
 * behind one NAT address still watches); the per-viewer one is a person's tabs and devices.
 * Counts live only while a connection does: a key goes when its last connection closes.
 */
export class Admission {
  private readonly byViewer = new Map<string, number>();
  private readonly byAddress = new Map<string, number>();

  constructor(private readonly limits: { perViewer: number; perAddress: number }) {}

  /** Counts a new connection in, or throws 429 when it would go over a bound (nothing counted). */
  admit(viewerId: string | undefined, address: string): void {
    if ((this.byAddress.get(address) ?? 0) >= this.limits.perAddress) {
      throw new AppError(
        'RATE_LIMITED',
        `too many connections from this address (at most ${this.limits.perAddress} per node)`,
        { retryAfterSeconds: 10 },
      );
    }
    if (viewerId !== undefined && (this.byViewer.get(viewerId) ?? 0) >= this.limits.perViewer) {
      throw new AppError(
        'RATE_LIMITED',
        `too many connections for this viewer (at most ${this.limits.perViewer}); close another tab`,
        { retryAfterSeconds: 10 },
      );
    }
    this.byAddress.set(address, (this.byAddress.get(address) ?? 0) + 1);
    if (viewerId !== undefined) this.byViewer.set(viewerId, (this.byViewer.get(viewerId) ?? 0) + 1);
  }

  release(viewerId: string | undefined, address: string): void {
    decrement(this.byAddress, address);
    if (viewerId !== undefined) decrement(this.byViewer, viewerId);
  }

  /** Keys held (tests: nothing is kept after the connections are gone). */
  get size(): number {
    return this.byViewer.size + this.byAddress.size;
  }
}

function decrement(map: Map<string, number>, key: string): void {
  const left = (map.get(key) ?? 0) - 1;
  if (left > 0) map.set(key, left);
  else map.delete(key);
}
