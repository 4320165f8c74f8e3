import { readdirSync, readFileSync } from 'node:fs';

const CLOCK_TICKS = 100; // USER_HZ on Linux

/** CPU seconds (user + system) and RSS bytes of a process, from /proc. */
export function processStats(pid: number): { cpuSeconds: number; rssBytes: number } {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the command name (which may contain spaces) start after the last ')'.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const utime = Number(fields[11]);
  const stime = Number(fields[12]);
  const rssPages = Number(fields[21]);
  return { cpuSeconds: (utime + stime) / CLOCK_TICKS, rssBytes: rssPages * 4096 };
}

/** The processes `pid` forked (a realtime primary's workers), from /proc. */
export function childPids(pid: number): number[] {
  const children: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const parent = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (parent === pid) children.push(Number(entry));
    } catch {
      // Gone meanwhile.
    }
  }
  return children.sort((a, b) => a - b);
}

/** Tracks CPU use of named processes between `mark()` and `report()`. */
export class CpuMeter {
  private start = new Map<string, number>();
  private startedAt = 0;

  constructor(private readonly pids: Record<string, number>) {}

  mark(): void {
    this.startedAt = performance.now();
    for (const [name, pid] of Object.entries(this.pids)) this.start.set(name, processStats(pid).cpuSeconds);
  }

  /** Per process: share of one core used since `mark()` (1.0 = one core busy), and RSS now. */
  report(): Record<string, { cpu: number; rssMb: number }> {
    const seconds = (performance.now() - this.startedAt) / 1000;
    const out: Record<string, { cpu: number; rssMb: number }> = {};
    for (const [name, pid] of Object.entries(this.pids)) {
      const now = processStats(pid);
      out[name] = {
        cpu: (now.cpuSeconds - (this.start.get(name) ?? 0)) / seconds,
        rssMb: now.rssBytes / 1024 / 1024,
      };
    }
    return out;
  }
}
