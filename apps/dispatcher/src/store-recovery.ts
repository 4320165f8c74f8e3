/**
 * After Redis lost its data (restarted empty), the registry is empty until every realtime node has
 * synced its full state again (a node's next heartbeat finds it unknown and asks for it). A
 * publish accepted in between would find no node and its 202 would not reach viewers who are
 * connected right now. So publishes are refused (503, the publisher retries) while a node that was
 * alive before the loss has not finished its sync — as the store says, so it does not matter which
 * dispatcher a node synced through. A node stops being waited for once synced or once its liveness
 * lapses (a node silent for a TTL is gone; every part of a sync renews it, so a big node that is
 * still sending parts is waited for), and nothing waits longer than `maxMs` in all.
 */
export class StoreRecovery {
  private awaiting = new Set<string>();
  private until = 0;

  constructor(
    private readonly maxMs: number,
    private readonly nodes: {
      /** Those of the nodes that synced since the loss. */
      synced: (nodeIds: readonly string[]) => Promise<Set<string>>;
      /** Whether a node's liveness has not lapsed (a heartbeat or a sync part renews it). */
      alive: (nodeId: string) => Promise<boolean>;
    },
    private readonly now: () => number = Date.now,
  ) {}

  /**
   * The store was found empty; `liveNodes` were alive just before. Reported again during a
   * recovery (another publish noticed the same loss, or the store was lost again), the nodes are
   * added to those awaited: a later report never shortens the wait for an earlier one.
   */
  lost(liveNodes: readonly string[]): void {
    for (const nodeId of liveNodes) this.awaiting.add(nodeId);
    this.until = this.now() + this.maxMs;
  }

  /** True while publishes must wait for nodes to sync (asks the store only while recovering). */
  async recovering(): Promise<boolean> {
    if (this.awaiting.size === 0) return false;
    if (this.now() >= this.until) {
      this.awaiting.clear();
      return false;
    }
    const waiting = [...this.awaiting];
    const synced = await this.nodes.synced(waiting).catch(() => new Set<string>());
    for (const nodeId of waiting) {
      if (synced.has(nodeId) || !(await this.nodes.alive(nodeId).catch(() => true))) this.awaiting.delete(nodeId);
    }
    return this.awaiting.size > 0;
  }
}
