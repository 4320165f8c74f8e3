/**
 * After Redis lost its data (restarted empty), the registry is empty until every realtime node has
 * synced its full state again (a node's next heartbeat finds it unknown and asks for it). A
 * publish accepted in between would find no node and its 202 would not reach viewers who are
 * connected right now. So publishes are refused (503, the publisher retries) until each node that
 * was alive before the loss has synced — as the store says, so it does not matter which
 * dispatcher a node synced through — or for at most one node TTL (a node silent that long is gone
 * anyway).
 */
export class StoreRecovery {
  private awaiting = new Set<string>();
  private until = 0;

  constructor(
    private readonly maxMs: number,
    /** Those of the nodes that synced since the loss. */
    private readonly synced: (nodeIds: readonly string[]) => Promise<Set<string>>,
    private readonly now: () => number = Date.now,
  ) {}

  /** The store was found empty; `liveNodes` were alive just before. */
  lost(liveNodes: readonly string[]): void {
    this.awaiting = new Set(liveNodes);
    this.until = this.now() + this.maxMs;
  }

  /** True while publishes must wait for nodes to sync (asks the store only while recovering). */
  async recovering(): Promise<boolean> {
    if (this.awaiting.size === 0) return false;
    if (this.now() >= this.until) {
      this.awaiting.clear();
      return false;
    }
    const synced = await this.synced([...this.awaiting]).catch(() => new Set<string>());
    for (const nodeId of synced) this.awaiting.delete(nodeId);
    return this.awaiting.size > 0;
  }
}
