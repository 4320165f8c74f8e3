import type { ManagedProcess } from './processes.js';
import { sleep } from './processes.js';
import type { Random } from './random.js';
import { PEER_LATENCY_MS, type Topology } from './topology.js';

/*
 * The fault schedule: a new fault every 1–4 s (seeded), each with its own duration, so
 * several may be in force at once. Per region and tier at most one process is down at a time
 * (a region keeps a dispatcher and a node): the suite tests recovery, not a region's death.
 *
 *   processes  SIGKILL (restarted 0.5–3 s later), SIGTERM (drain, then restarted),
 *              SIGSTOP/SIGCONT (0.5–4 s) — of nodes, dispatchers, the web app
 *   Redis      killed and restarted empty (a region's realtime store); paused (any Redis)
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
  | 'link stall'
  | 'link reset'
  | 'link black hole'
  | 'link latency';

export interface AppliedFault {
  kind: FaultKindName;
  target: string;
  at: number;
  durationMs: number;
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
  ['link stall', 12],
  ['link reset', 14],
  ['link black hole', 10],
  ['link latency', 8],
];

export class FaultInjector {
  readonly applied: AppliedFault[] = [];
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

  /** Injects faults until `stop`. */
  start(): void {
    this.running = true;
    this.loop = (async () => {
      while (this.running) {
        await sleep(this.random.int(1000, 4000));
        if (!this.running) break;
        this.injectOne();
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
  }

  private injectOne(): void {
    for (let tries = 0; tries < 10; tries++) {
      const kind = this.random.weighted(KINDS);
      const recovery = this.apply(kind);
      if (!recovery) continue;
      const tracked = recovery
        .catch((error: unknown) => this.log(`recovery of a fault failed: ${(error as Error).message}`))
        .finally(() => this.recoveries.delete(tracked));
      this.recoveries.add(tracked);
      return;
    }
  }

  /** Applies one fault of `kind` to a random target; its recovery, or undefined when none is free. */
  private apply(kind: FaultKindName): Promise<void> | undefined {
    const { topology, random } = this;
    if (kind.startsWith('link')) {
      const link = random.pick(topology.links);
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
    const tier = kind.endsWith('node')
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
        (kind !== 'redis restarted empty' || p.name !== 'redis-web'),
    );
    if (candidates.length === 0) return undefined;
    const target = random.pick(candidates);
    this.busy.add(target);
    const done = () => this.busy.delete(target);
    if (kind.startsWith('pause')) {
      const ms = random.int(500, 4000);
      this.record(kind, target.name, ms);
      return target
        .signal('SIGSTOP', false)
        .then(() => sleep(ms))
        .then(() => target.signal('SIGCONT', false))
        .finally(done);
    }
    const signal = kind.startsWith('drain') ? 'SIGTERM' : 'SIGKILL';
    const downMs = random.int(500, 3000);
    this.record(kind, target.name, downMs);
    return target
      .signal(signal)
      .then(() => sleep(downMs))
      .then(() => startWithRetries(target))
      .finally(done);
  }

  private record(kind: FaultKindName, target: string, durationMs: number): void {
    this.applied.push({ kind, target, at: Date.now(), durationMs });
    this.log(`fault: ${kind} ${target}${durationMs ? ` (${durationMs} ms)` : ''}`);
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
