import { type ChildProcess, fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { type LatencySummary, merge, newHistogram, summarize } from './histogram.js';
import type { FinalReport, Snapshot, StartMessage } from './viewer-worker.js';

/** Sockets one worker may hold (the per-process open-file limit is 20,000). */
export const MAX_VIEWERS_PER_WORKER = 19_000;
/**
 * Each worker binds source addresses of its own: a socket bound to an address takes an ephemeral
 * port of that address, and one address has ~28K of them (a bind slows down as they fill). Handed
 * out in turn, ADDRESSES_PER_WORKER at a time, across every pool of the run.
 */
const SOURCE_ADDRESSES = Array.from({ length: 248 }, (_, i) => `127.0.0.${i + 2}`);
const ADDRESSES_PER_WORKER = 8;
let nextSource = 0;

export type ViewerTotals = Omit<Snapshot, 'type'>;

export interface ViewerFinal {
  lostComments: number;
  duplicatedComments: number;
  outOfOrder: number;
  likeMismatches: number;
  likeSurplus: number;
  latency: LatencySummary;
}

/** Viewers spread over worker processes; each worker binds its own 127.0.0.x source addresses. */
export class ViewerPool {
  private readonly workers: ChildProcess[] = [];
  private constructor() {}

  static async open(options: {
    urls: string[];
    viewers: number;
    workers?: number;
    reportEvery?: number;
    discard?: boolean;
  }): Promise<{ pool: ViewerPool; connected: number; failed: number }> {
    const pool = new ViewerPool();
    const workerCount = Math.max(options.workers ?? 2, Math.ceil(options.viewers / MAX_VIEWERS_PER_WORKER));
    const file = fileURLToPath(new URL('./viewer-worker.js', import.meta.url));
    const per = Math.ceil(options.viewers / workerCount);
    const ready: Array<Promise<Snapshot>> = [];
    for (let w = 0; w < workerCount; w++) {
      const count = Math.min(per, options.viewers - w * per);
      if (count <= 0) break;
      const worker = fork(file, [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
      pool.workers.push(worker);
      ready.push(pool.next<Snapshot>(worker, 'ready'));
      const start: StartMessage = {
        type: 'start',
        // Rotate the URL list so viewers of consecutive workers spread over all nodes.
        urls: options.urls.map((_, i) => options.urls[(i + w) % options.urls.length] as string),
        count,
        localAddresses: Array.from(
          { length: ADDRESSES_PER_WORKER },
          () => SOURCE_ADDRESSES[nextSource++ % SOURCE_ADDRESSES.length] as string,
        ),
        reportEvery: options.reportEvery ?? 0,
        discard: options.discard ?? false,
      };
      worker.send(start);
    }
    const snapshots = await Promise.all(ready);
    const connected = snapshots.reduce((n, s) => n + s.open, 0);
    return { pool, connected, failed: options.viewers - connected };
  }

  get pids(): number[] {
    return this.workers.map((w) => w.pid ?? 0);
  }

  async totals(): Promise<ViewerTotals> {
    const snapshots = await Promise.all(
      this.workers.map((worker) => {
        const reply = this.next<Snapshot>(worker, 'snapshot');
        worker.send({ type: 'snapshot' });
        return reply;
      }),
    );
    return snapshots.reduce(
      (t, s) => ({
        open: t.open + s.open,
        comments: t.comments + s.comments,
        likes: t.likes + s.likes,
        heartbeats: t.heartbeats + s.heartbeats,
        minComments: Math.min(t.minComments, s.minComments),
        minLikes: Math.min(t.minLikes, s.minLikes),
      }),
      { open: 0, comments: 0, likes: 0, heartbeats: 0, minComments: Infinity, minLikes: Infinity },
    );
  }

  /** Per-viewer checks against what was published, and the merged latency histogram. */
  async final(published: { comments: number; likes: number }): Promise<ViewerFinal> {
    const reports = await Promise.all(
      this.workers.map((worker) => {
        const reply = this.next<FinalReport>(worker, 'final');
        worker.send({ type: 'final', ...published });
        return reply;
      }),
    );
    const histogram = newHistogram();
    for (const r of reports) merge(histogram, r.latency);
    const sum = (key: keyof Omit<FinalReport, 'type' | 'latency'>) => reports.reduce((n, r) => n + r[key], 0);
    return {
      lostComments: sum('lostComments'),
      duplicatedComments: sum('duplicatedComments'),
      outOfOrder: sum('outOfOrder'),
      likeMismatches: sum('likeMismatches'),
      likeSurplus: sum('likeSurplus'),
      latency: summarize(histogram),
    };
  }

  close(): void {
    for (const worker of this.workers) worker.kill('SIGKILL');
  }

  private next<T extends { type: string }>(worker: ChildProcess, type: string): Promise<T> {
    return new Promise((resolve, reject) => {
      const onMessage = (message: T) => {
        if (message.type !== type) return;
        worker.off('message', onMessage);
        worker.off('exit', onExit);
        resolve(message);
      };
      const onExit = (code: number | null) => reject(new Error(`viewer worker exited (${code}) before '${type}'`));
      worker.on('message', onMessage);
      worker.once('exit', onExit);
    });
  }
}

/** Polls `check` every 50 ms until true or `timeoutMs` passes; returns whether it became true. */
export async function until(check: () => Promise<boolean>, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return true;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return check();
}
