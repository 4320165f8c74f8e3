import cluster, { type Worker } from 'node:cluster';
import type { RealtimeConfig } from '../config.js';
import { type TPeersMessage, WorkerListeningSchema } from './messages.js';

/*
 * WORKERS > 1: this process forks the workers and holds no viewer itself.
 *
 *             ┌─ worker 0: node <id>-0 ─ internal port ◀── dispatchers' deliveries
 *   PORT ─────┼─ worker 1: node <id>-1 ─ internal port ◀── (each worker registers its own URL)
 *  (shared)   └─ …
 *
 * Node's cluster hands each connection on PORT to the next worker in turn (round-robin), so the
 * workers fill up evenly. Each worker tells this process its internal URL; the table of them goes to
 * every worker, which forwards a request about another worker's connection there
 * (peer-requests.ts). A worker that dies is forked again under the same index, so it comes back as
 * the same node id (the dispatchers' full sync then replaces what its predecessor had registered).
 * SIGTERM to this process drains every worker as one node drains (`reconnect` to each viewer).
 */

/** A worker that lived less than this and died is restarted after a growing delay. */
const HEALTHY_AFTER_MS = 10_000;
const RESTART_BASE_MS = 100;
const RESTART_MAX_MS = 5000;
/** How long the workers may take to start listening. */
const START_TIMEOUT_MS = 30_000;

interface Slot {
  worker: Worker;
  startedAt: number;
  url?: string;
  /** Early deaths in a row (for the restart delay). */
  crashes: number;
}

export async function startPrimary(config: RealtimeConfig): Promise<() => Promise<void>> {
  const slots = new Map<number, Slot>();
  const restartTimers = new Set<NodeJS.Timeout>();
  let stopping = false;
  let started = false;
  let failStart: (error: Error) => void = () => {};
  let startedOne: () => void = () => {};

  const broadcast = () => {
    const message: TPeersMessage = { type: 'peers', peers: {} };
    for (const [index, slot] of slots) if (slot.url) message.peers[String(index)] = slot.url;
    // A worker whose channel is closing misses it (its exit is handled on its own).
    for (const slot of slots.values()) if (slot.worker.isConnected()) slot.worker.send(message, undefined, () => {});
  };

  const fork = (index: number, crashes: number) => {
    const worker = cluster.fork({ NODE_ID: config.baseNodeId, REALTIME_WORKER_INDEX: String(index) });
    const slot: Slot = { worker, startedAt: Date.now(), crashes };
    slots.set(index, slot);
    worker.on('message', (message: unknown) => {
      const parsed = WorkerListeningSchema.safeParse(message);
      if (!parsed.success || parsed.data.index !== index) return;
      slot.url = parsed.data.url;
      broadcast();
      if (!started) startedOne();
    });
    worker.on('exit', (code, signal) => {
      if (slots.get(index)?.worker === worker) slots.delete(index);
      broadcast();
      if (stopping) return;
      if (!started) {
        failStart(new Error(`worker ${index} exited (${signal ?? code}) before it listened`));
        return;
      }
      const early = Date.now() - slot.startedAt < HEALTHY_AFTER_MS;
      const next = early ? slot.crashes + 1 : 0;
      const delay = next === 0 ? 0 : Math.min(RESTART_MAX_MS, RESTART_BASE_MS * 2 ** (next - 1));
      log(
        40,
        `worker ${index} (node ${config.baseNodeId}-${index}) exited (${signal ?? code}); restarting in ${delay} ms`,
      );
      const timer = setTimeout(() => {
        restartTimers.delete(timer);
        if (!stopping) fork(index, next);
      }, delay);
      restartTimers.add(timer);
    });
  };

  const stop = async () => {
    stopping = true;
    for (const timer of restartTimers) clearTimeout(timer);
    const exits = [...slots.values()].map(
      ({ worker }) =>
        new Promise<void>((resolve) => {
          if (worker.isDead()) return resolve();
          worker.once('exit', () => resolve());
          worker.process.kill('SIGTERM');
          // A worker that does not finish its drain in time is ended.
          setTimeout(() => worker.process.kill('SIGKILL'), config.drainMs + 15_000).unref();
        }),
    );
    await Promise.all(exits);
  };

  await new Promise<void>((resolve, reject) => {
    let listening = 0;
    const timer = setTimeout(() => failStart(new Error('workers did not listen in time')), START_TIMEOUT_MS);
    failStart = (error) => {
      clearTimeout(timer);
      reject(error);
    };
    startedOne = () => {
      if (++listening < config.workers) return;
      clearTimeout(timer);
      resolve();
    };
    for (let index = 0; index < config.workers; index++) fork(index, 0);
  }).catch(async (error: unknown) => {
    await stop();
    throw error;
  });
  started = true;
  return stop;
}

/** One JSON line on stderr, like the workers' own logs. */
function log(level: number, msg: string): void {
  process.stderr.write(`${JSON.stringify({ level, time: Date.now(), service: 'realtime', role: 'primary', msg })}\n`);
}
