import { isMasterAt } from '@ovation/shared/local-redis-cluster';
import type { ManagedProcess } from './processes.js';
import { sleep } from './processes.js';
import type { Random } from './random.js';
import { PEER_LATENCY_MS, type Topology } from './topology.js';

/*
 * The fault schedule: a new fault every 1–4 s (seeded), each with its own duration, so
 * several may be in force at once. Per region and tier at most one process is down at a time
 * (a region keeps a dispatcher and a node): the suite tests recovery, not a region's death.
 * A store wipe (Redis restarted empty) comes alone in its region — no other fault touching the
 * region in force, or ended less than ISOLATION_MS before, or starting until ISOLATION_MS after
 * it: what a region accepted but had not delivered yet because another fault held it up is lost
 * with a wiped store (its viewers get resync, but their like totals cannot be made whole). That
 * compound loss is what Redis persistence or a replica prevents in a deployment; see RELIABILITY.md.
 *
 *   processes  SIGKILL (restarted 0.5–3 s later), SIGTERM (drain, then restarted),
 *              SIGSTOP/SIGCONT (0.5–4 s) — of nodes, dispatchers, the web app
 *   Redis      killed and restarted empty (a region's realtime store); paused (any Redis)
 *   Cluster    a node of a region's Redis Cluster killed (a master: restarted once its replica
 *              took over, as a real one would come back) or paused (any Redis, above: a master
 *              paused past two node timeouts is failed over); either fault lasts until the
 *              cluster is whole again, every replica in sync, so one node at a time is down;
 *              whatever the schedule draws, a third of the way through every run one master of
 *              each cluster is killed while the publishers are busy
 *   links      stall, reset, black hole, extra latency — on every proxied link
 */

export type FaultKindName =
  | 'kill node'
  | 'drain node'
  | 'pause node'
  | 'kill dispatcher'
  | 'drain dispatcher'
  | 'pause dispatcher'
  | 'kill web'
  | 'pause web'
  | 'redis restarted empty'
  | 'pause redis'
  | 'kill cluster node'
  | 'link stall'
  | 'link reset'
  | 'link black hole'
  | 'link latency';

export interface AppliedFault {
  kind: FaultKindName;
  target: string;
  at: number;
  durationMs: number;
  /** A cluster node that was a master when the fault began. */
  master?: true;
}

const KINDS: ReadonlyArray<readonly [FaultKindName, number]> = [
  ['kill node', 8],
  ['drain node', 6],
  ['pause node', 6],
  ['kill dispatcher', 6],
  ['drain dispatcher', 4],
  ['pause dispatcher', 6],
  ['kill web', 2],
  ['pause web', 2],
  ['redis restarted empty', 4],
  ['pause redis', 5],
  ['kill cluster node', 6],
  ['link stall', 12],
  ['link reset', 14],
  ['link black hole', 10],
  ['link latency', 8],
];

/** How long a store wipe keeps its region to itself, before and after (see above). */
const ISOLATION_MS = 5000;
/** How long a cluster may take to be whole again after a node's fault (failover, a replica's copy). */
const CLUSTER_WHOLE_MS = 30_000;

export class FaultInjector {
  readonly applied: AppliedFault[] = [];
  /** What went wrong in the suite's own faults (a cluster that did not fail over): the run fails. */
  readonly problems: string[] = [];
  /** Per region: until when faults touching it are in force or cooling down, and until when it belongs to a wipe. */
  private readonly busyUntil = new Map<string, number>();
  private readonly wipedUntil = new Map<string, number>();
  /** Processes a fault has taken down or stopped, until it is over. */
  private readonly busy = new Set<ManagedProcess>();
  private readonly recoveries = new Set<Promise<void>>();
  private running = false;
  private loop: Promise<void> | undefined;

  constructor(
    private readonly topology: Topology,
    private readonly random: Random,
    private readonly log: (line: string) => void,
  ) {}

  /** Injects faults until `stop` (a run of `durationMs`: see the cluster's master above). */
  start(durationMs: number): void {
    this.running = true;
    const masterKillAt = Date.now() + durationMs / 3;
    let mastersKilled = this.topology.clusters.length === 0;
    this.loop = (async () => {
      while (this.running) {
        await sleep(this.random.int(1000, 4000));
        if (!this.running) break;
        if (!mastersKilled && Date.now() >= masterKillAt) mastersKilled = await this.killClusterMasters();
        else this.injectOne();
      }
    })();
  }

  /** Stops injecting and waits until every fault in force is over (processes back, links healed). */
  async stop(): Promise<void> {
    this.running = false;
    await this.loop;
    while (this.recoveries.size > 0) await Promise.all([...this.recoveries]);
    for (const link of this.topology.links) {
      link.proxy.heal();
      if (link.kind === 'dispatcher->peer') link.proxy.latency(PEER_LATENCY_MS, 10);
    }
    for (const process of this.topology.processes) {
      await process.signal('SIGCONT', false);
      if (!process.running) await process.start();
    }
    for (const cluster of this.topology.clusters) {
      if (!(await cluster.waitWhole(CLUSTER_WHOLE_MS))) {
        this.problems.push(`the Redis Cluster of ${cluster.region} was not whole after the faults`);
      }
    }
  }

  private injectOne(): void {
    for (let tries = 0; tries < 10; tries++) {
      if (this.follow(this.apply(this.random.weighted(KINDS)))) return;
    }
  }

  /**
   * Kills a master of every cluster whose region has no fault on its store in force; true when
   * every cluster had one killed (otherwise the next turn tries again).
   */
  private async killClusterMasters(): Promise<boolean> {
    let all = true;
    for (const cluster of this.topology.clusters) {
      if (
        this.applied.some(
          (f) => f.kind === 'kill cluster node' && f.master && cluster.nodes.some((n) => n.name === f.target),
        )
      )
        continue;
      const storeBusy = cluster.nodes.some((node) => this.busy.has(node));
      const masters: ManagedProcess[] = [];
      if (!storeBusy && this.free([cluster.region])) {
        for (const node of cluster.nodes) {
          if (node.running && (await isMasterAt(node.spec.port).catch(() => false))) masters.push(node);
        }
      }
      if (masters.length === 0) {
        all = false;
        continue;
      }
      if (!this.follow(this.processFault('kill cluster node', this.random.pick(masters)))) all = false;
    }
    return all;
  }

  /** Keeps a fault's recovery until it is over (`stop` waits for it). */
  private follow(recovery: Promise<void> | undefined): boolean {
    if (!recovery) return false;
    const tracked = recovery
      .catch((error: unknown) => this.log(`recovery of a fault failed: ${(error as Error).message}`))
      .finally(() => this.recoveries.delete(tracked));
    this.recoveries.add(tracked);
    return true;
  }

  /** The regions a process or a link belongs to (a link between regions: both). */
  private regionsOf(name: string): string[] {
    return this.topology.regions.map((r) => r.name).filter((region) => name.includes(region));
  }

  /** Whether a fault may touch these regions now (none of them belongs to a store wipe). */
  private free(regions: readonly string[]): boolean {
    return regions.every((region) => (this.wipedUntil.get(region) ?? 0) < Date.now());
  }

  /** A fault touching `regions` is in force until its recovery settles (then cools down). */
  private track(regions: readonly string[], recovery: Promise<void>): Promise<void> {
    const forever = Number.POSITIVE_INFINITY;
    for (const region of regions) this.busyUntil.set(region, forever);
    return recovery.finally(() => {
      for (const region of regions) this.busyUntil.set(region, Date.now() + ISOLATION_MS);
    });
  }

  /** Applies one fault of `kind` to a random target; its recovery, or undefined when none is free. */
  private apply(kind: FaultKindName): Promise<void> | undefined {
    const { topology, random } = this;
    if (kind.startsWith('link')) {
      const link = random.pick(topology.links);
      const regions = this.regionsOf(link.name);
      if (!this.free(regions)) return undefined;
      return this.track(regions, this.linkFault(kind, link));
    }
    return this.processFault(kind);
  }

  private linkFault(kind: FaultKindName, link: Topology['links'][number]): Promise<void> {
    const { random } = this;
    const ms =
      kind === 'link reset' ? 0 : random.int(kind === 'link stall' ? 500 : 1000, kind === 'link stall' ? 3000 : 5000);
    this.record(kind, link.name, ms);
    if (kind === 'link stall') link.proxy.stall(ms);
    else if (kind === 'link reset') link.proxy.reset();
    else if (kind === 'link black hole') link.proxy.blackhole(ms);
    else {
      const base = link.kind === 'dispatcher->peer' ? PEER_LATENCY_MS : 0;
      link.proxy.latency(base + random.int(100, 500), 50);
      return sleep(ms).then(() => link.proxy.latency(base, base > 0 ? 10 : 0));
    }
    return sleep(ms);
  }

  /** Applies a process fault to `chosen`, or to a random candidate; undefined when none may be hit now. */
  private processFault(kind: FaultKindName, chosen?: ManagedProcess): Promise<void> | undefined {
    const { topology, random } = this;
    const tier =
      kind === 'kill cluster node'
        ? 'redis'
        : kind.endsWith('node')
          ? 'realtime'
          : kind.endsWith('dispatcher')
            ? 'dispatcher'
            : kind.endsWith('web')
              ? 'web'
              : 'redis';
    const candidates = topology.processes.filter(
      (p) =>
        p.spec.tier === tier &&
        p.running &&
        !this.busy.has(p) &&
        // One process of a tier down per region at a time; the realtime stores only are wiped.
        !topology.processes.some((q) => q.spec.tier === tier && q.spec.region === p.spec.region && this.busy.has(q)) &&
        // A cluster's nodes are not restarted empty as a server is: they rejoin as replicas.
        (kind !== 'redis restarted empty' || (p.name !== 'redis-web' && !this.clusterOf(p))) &&
        (kind !== 'kill cluster node' || this.clusterOf(p)) &&
        this.free([p.spec.region]),
    );
    if (chosen && !candidates.includes(chosen)) return undefined;
    if (candidates.length === 0) return undefined;
    const target = chosen ?? random.pick(candidates);
    this.busy.add(target);
    const region = target.spec.region;
    if (kind === 'redis restarted empty') {
      // The region is reserved at once (nothing new touches it); the wipe waits for what is in
      // force there to end and cool down.
      this.wipedUntil.set(region, Number.POSITIVE_INFINITY);
      return (async () => {
        while ((this.busyUntil.get(region) ?? 0) > Date.now() && this.running) await sleep(200);
        if (this.running) await this.processRecovery(kind, target, () => {});
      })().finally(() => {
        this.busy.delete(target);
        this.wipedUntil.set(region, Date.now() + ISOLATION_MS);
      });
    }
    return this.track(
      [region],
      this.processRecovery(kind, target, () => this.busy.delete(target)),
    );
  }

  private processRecovery(kind: FaultKindName, target: ManagedProcess, done: () => void): Promise<void> {
    const { random } = this;
    const cluster = this.clusterOf(target);
    // A cluster node's fault is over when its cluster is whole again. One that is not within the
    // limit fails the run: what follows (a master restarted before its replica took over comes
    // back empty) would be the suite's doing, not the services'.
    const whole = async () => {
      if (cluster && !(await cluster.waitWhole(CLUSTER_WHOLE_MS))) {
        const problem = `the Redis Cluster of ${cluster.region} was not whole ${CLUSTER_WHOLE_MS} ms after ${kind} ${target.name}`;
        this.problems.push(problem);
        this.log(problem);
      }
    };
    if (kind.startsWith('pause')) {
      const ms = random.int(500, 4000);
      this.record(kind, target.name, ms);
      return target
        .signal('SIGSTOP', false)
        .then(() => sleep(ms))
        .then(() => target.signal('SIGCONT', false))
        .then(whole)
        .finally(done);
    }
    const signal = kind.startsWith('drain') ? 'SIGTERM' : 'SIGKILL';
    const downMs = random.int(500, 3000);
    const master = cluster ? isMasterAt(target.spec.port).catch(() => false) : Promise.resolve(false);
    return (
      master
        .then((isMaster) => {
          this.record(kind, target.name, downMs, isMaster);
          return target.signal(signal);
        })
        // A killed master comes back only once its replica took over: before that it would come
        // back empty and still the master of its slots (nothing is saved).
        .then(whole)
        .then(() => sleep(downMs))
        .then(() => startWithRetries(target))
        .then(whole)
        .finally(done)
    );
  }

  private clusterOf(process: ManagedProcess) {
    return this.topology.clusters.find((cluster) => cluster.has(process));
  }

  private record(kind: FaultKindName, target: string, durationMs: number, master = false): void {
    this.applied.push({ kind, target, at: Date.now(), durationMs, ...(master ? { master: true as const } : {}) });
    this.log(`fault: ${kind} ${target}${master ? ' (a master)' : ''}${durationMs ? ` (${durationMs} ms)` : ''}`);
  }
}

/** Starts a process again; a port still held by its predecessor for a moment is retried. */
async function startWithRetries(target: ManagedProcess): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    try {
      await target.start();
      return;
    } catch (error) {
      if (attempt >= 5) throw error;
      await sleep(500);
    }
  }
}

export function faultCounts(applied: readonly AppliedFault[]): Map<FaultKindName, number> {
  const counts = new Map<FaultKindName, number>();
  for (const [kind] of KINDS) counts.set(kind, 0);
  for (const fault of applied) counts.set(fault.kind, (counts.get(fault.kind) ?? 0) + 1);
  return counts;
}
