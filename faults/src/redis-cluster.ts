import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { clusterHealthy, clusterNodeArgs, formCluster } from '@ovation/shared/local-redis-cluster';
import { reserveClusterNodePort } from './ports.js';
import { ManagedProcess, type ProcessSpec, sleep } from './processes.js';

/*
 * A region whose realtime store is a Redis Cluster: 3 masters and 3 replicas, each node a
 * ManagedProcess (so the suite kills, pauses and restarts it, and checks it for crashes like any
 * other process). Nodes keep nothing on disk but their cluster config, so a node started again
 * rejoins as itself — as a replica of the master that took its slots over, copying its data.
 *
 * A cluster's faults are its nodes' (a TCP proxy cannot sit between a cluster client and the
 * nodes: the slot map names the nodes' own addresses). A paused node is, for its clients and its
 * peers, a black hole; a paused master is failed over once it has been silent for about two node
 * timeouts, and when it resumes it learns it is a replica now.
 */

/** Nodes time out after this: a dead master's replica takes over within about two of these. */
export const CLUSTER_NODE_TIMEOUT_MS = 1000;

export class RegionCluster {
  private constructor(
    readonly region: string,
    readonly nodes: ManagedProcess[],
    private readonly dir: string,
  ) {}

  static async create(region: string, env: Record<string, string>): Promise<RegionCluster> {
    const dir = mkdtempSync(join(tmpdir(), `ovation-faults-${region}-cluster-`));
    const nodes: ManagedProcess[] = [];
    for (let i = 1; i <= 6; i++) {
      const port = await reserveClusterNodePort();
      const spec: ProcessSpec = {
        name: `redis-${region}-cluster-${i}`,
        tier: 'redis',
        region,
        port,
        command: ['redis-server', ...clusterNodeArgs(port, dir, CLUSTER_NODE_TIMEOUT_MS)],
        env,
      };
      nodes.push(new ManagedProcess(spec));
    }
    return new RegionCluster(region, nodes, dir);
  }

  /** `REDIS_CLUSTER_NODES` for the region's dispatchers: every node as a seed. */
  get seeds(): string {
    return this.nodes.map((node) => `127.0.0.1:${node.spec.port}`).join(',');
  }

  has(process: ManagedProcess): boolean {
    return this.nodes.includes(process);
  }

  /** Starts the nodes, forms the cluster and waits until it is whole. */
  async start(): Promise<void> {
    await Promise.all(this.nodes.map((node) => node.start()));
    await formCluster(this.nodes.map((node) => node.spec.port));
    await this.waitWhole(30_000);
  }

  /**
   * Waits until the running nodes make a whole cluster: every slot served by a running master, and
   * every running replica in sync. After a master's death that is once its replica took over; after
   * a node came back, once it has copied its master's data. False when `timeoutMs` passed first.
   */
  async waitWhole(timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      const running = this.nodes.filter((node) => node.running).map((node) => node.spec.port);
      // A node that does not answer (paused, or going away) only means not yet.
      if (await clusterHealthy(running).catch(() => false)) return true;
      await sleep(50);
    }
    return false;
  }

  /** Removes the nodes' cluster configs (the nodes are stopped with the topology's processes). */
  removeFiles(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}
