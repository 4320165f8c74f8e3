import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { connect } from 'node:net';

/*
 * The processes of the topology under test, each restartable on its own port, so that a fault
 * can kill, stop or drain one and the suite can bring it back where its peers expect it.
 *
 * Every exit is recorded with its cause: one the suite asked for (a signal it sent) is a fault;
 * any other is a crash, and the checker fails the run on it.
 */

export type Tier = 'redis' | 'dispatcher' | 'realtime' | 'web';

export interface ProcessSpec {
  name: string;
  tier: Tier;
  region: string;
  port: number;
  command: readonly string[];
  cwd?: string;
  env: Record<string, string>;
  /** True once the process serves (default: its port accepts connections). */
  ready?: () => Promise<boolean>;
}

export interface ExitRecord {
  name: string;
  at: number;
  code: number | null;
  signal: NodeJS.Signals | null;
  /** The suite sent the signal that ended it (a fault), or asked it to stop. */
  expected: boolean;
}

/** Lines of a process's output kept for the report (the end of it). */
const LOG_CHARS = 200_000;

export class ManagedProcess {
  private child: ChildProcess | undefined;
  private expecting = false;
  private stopped = false;
  private logText = '';
  /** Lines in the output that record a fault the process-wide policy saw (installProcessPolicy). */
  readonly policyEvents: string[] = [];
  readonly exits: ExitRecord[] = [];
  /** Resident memory samples (ms since epoch, bytes). */
  readonly rss: Array<{ at: number; bytes: number; pid: number }> = [];
  starts = 0;

  constructor(readonly spec: ProcessSpec) {}

  get name(): string {
    return this.spec.name;
  }

  get url(): string {
    return `http://127.0.0.1:${this.spec.port}`;
  }

  get running(): boolean {
    return this.child !== undefined && this.child.exitCode === null && this.child.signalCode === null;
  }

  get pid(): number | undefined {
    return this.running ? this.child?.pid : undefined;
  }

  get logs(): string {
    return this.logText;
  }

  /** Starts it and waits until it serves (a port taken by a dying predecessor is retried). */
  async start(timeoutMs = 60_000): Promise<void> {
    if (this.running) return;
    const [command, ...args] = this.spec.command as [string, ...string[]];
    const child = spawn(command, args, {
      cwd: this.spec.cwd,
      env: this.spec.env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child = child;
    this.expecting = false;
    this.starts++;
    const keep = (chunk: Buffer) => {
      const text = chunk.toString();
      this.logText = (this.logText + text).slice(-LOG_CHARS);
      for (const line of text.split('\n')) {
        if (line.includes('"unhandled rejection"') || line.includes('"uncaught exception'))
          this.policyEvents.push(line);
      }
    };
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
    child.on('exit', (code, signal) => {
      this.exits.push({ name: this.name, at: Date.now(), code, signal, expected: this.expecting || this.stopped });
      keep(Buffer.from(`\n[faults] ${this.name} exited (${signal ?? code})\n`));
    });
    const deadline = Date.now() + timeoutMs;
    const ready = this.spec.ready ?? (() => portOpen(this.spec.port));
    while (!(await ready())) {
      if (!this.running) throw new Error(`${this.name} exited while starting:\n${this.logText.slice(-2000)}`);
      if (Date.now() > deadline) throw new Error(`${this.name} not ready after ${timeoutMs} ms`);
      await sleep(100);
    }
  }

  /** Sends a signal the suite means (a fault); resolves when a terminating one has ended it. */
  async signal(signal: NodeJS.Signals, waitForExit = signal === 'SIGKILL' || signal === 'SIGTERM'): Promise<void> {
    const child = this.child;
    if (!child || !this.running) return;
    if (signal === 'SIGKILL' || signal === 'SIGTERM') this.expecting = true;
    // Only a wait adds a listener: a stopped-and-continued process would gather one per pause.
    const exited = waitForExit ? new Promise<void>((resolve) => child.once('exit', () => resolve())) : undefined;
    child.kill(signal);
    await exited;
  }

  /** Ends it for good (the end of the run): SIGCONT first, in case it was stopped. */
  async stop(): Promise<void> {
    this.stopped = true;
    const child = this.child;
    if (!child || !this.running) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill('SIGCONT');
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(timer);
  }

  /** Records its resident memory now (Linux /proc). */
  sampleRss(now = Date.now()): void {
    const pid = this.pid;
    if (pid === undefined) return;
    try {
      const status = readFileSync(`/proc/${pid}/status`, 'utf8');
      const kb = Number(/^VmRSS:\s+(\d+)/m.exec(status)?.[1]);
      if (Number.isFinite(kb)) this.rss.push({ at: now, bytes: kb * 1024, pid });
    } catch {
      // Gone between the check and the read: nothing to sample.
    }
  }
}

export function portOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1', () => {
      socket.end();
      resolve(true);
    });
    socket.on('error', () => resolve(false));
  });
}

/** True when `url`/healthz answers 200 within a second. */
export async function healthy(url: string): Promise<boolean> {
  try {
    const response = await fetch(`${url}/healthz`, { signal: AbortSignal.timeout(1000) });
    await response.arrayBuffer();
    return response.ok;
  } catch {
    return false;
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
