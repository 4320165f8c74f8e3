import { writeFileSync } from 'node:fs';
import { cpus } from 'node:os';

export const MACHINE = `${cpus().length} x ${cpus()[0]?.model ?? 'cpu'}, node ${process.version}`;

export type Rows = Array<[string, string | number]>;

export function fmt(n: number, digits = 0): string {
  return n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });
}

/** Prints a two-column table; writes `result` as JSON when a path is given. */
export function report(title: string, rows: Rows, result: object, jsonPath?: string): void {
  const all: Rows = [['machine', MACHINE], ...rows];
  const width = Math.max(...all.map(([k]) => k.length));
  process.stdout.write(`\n${title}\n${all.map(([k, v]) => `  ${k.padEnd(width)}  ${v}`).join('\n')}\n`);
  if (jsonPath) writeFileSync(jsonPath, `${JSON.stringify({ machine: MACHINE, ...result }, null, 2)}\n`);
}

export function cpuRows(cpu: Record<string, { cpu: number; rssMb: number }>): Rows {
  return Object.entries(cpu).map(([name, s]): [string, string] => [
    `cpu ${name}`,
    `${fmt(s.cpu * 100)}% of a core, RSS ${fmt(s.rssMb)} MB`,
  ]);
}
