/**
 * After Redis lost its data (restarted empty), the registry is empty until every realtime node has
 * sent its next heartbeat (its full state). A publish accepted in between would find no node and
 * its 202 would not reach viewers who are connected right now. So publishes are refused (503, the
 * publisher retries) until each node that was alive before the loss has been heard from again, or
 * for at most one node TTL (a node silent that long is gone anyway).
 */
export class StoreRecovery {
  private awaiting = new Set<string>();
  private until = 0;

  constructor(
    private readonly maxMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** The store was found empty; `liveNodes` were alive just before. */
  lost(liveNodes: readonly string[]): void {
    this.awaiting = new Set(liveNodes);
    this.until = this.now() + this.maxMs;
  }

  /** A node re-registered (heartbeat). */
  heard(nodeId: string): void {
    this.awaiting.delete(nodeId);
  }

  /** True while publishes must wait for nodes to re-register. */
  get recovering(): boolean {
    if (this.awaiting.size === 0) return false;
    if (this.now() < this.until) return true;
    this.awaiting.clear();
    return false;
  }
}
