import { faultCounts } from './injector.js';
import type { RunResult } from './run.js';

/** The run as one table (what RELIABILITY.md quotes), and the command that replays it. */
export function formatReport(result: RunResult, command: string): string {
  const { deliveries: d, processes: p } = result;
  const n = (value: number) => value.toLocaleString('en-US');
  const rows: Array<[string, string]> = [];
  const clusters = result.options.clusterRegions;
  rows.push([
    'realtime stores',
    ['r1', 'r2']
      .map(
        (region) => `${region} ${clusters.includes(region) ? 'Redis Cluster (3 masters + 3 replicas)' : 'one Redis'}`,
      )
      .join(', '),
  ]);
  rows.push(['faults injected', n(result.faults.length)]);
  for (const [kind, count] of faultCounts(result.faults)) {
    const masters = result.faults.filter((f) => f.kind === kind && f.master).length;
    rows.push([`  ${kind}`, `${n(count)}${kind === 'kill cluster node' ? ` (masters ${n(masters)})` : ''}`]);
  }
  const byType = new Map<string, number>();
  for (const event of result.publish.accepted) byType.set(event.type, (byType.get(event.type) ?? 0) + 1);
  rows.push([
    'events accepted',
    `${n(result.publish.accepted.length)} (${[...byType].map(([t, c]) => `${t} ${n(c)}`).join(', ')})`,
  ]);
  rows.push(['requests (sent again)', `${n(result.publish.requests)} (${n(result.publish.retries)})`]);
  rows.push([
    'viewers',
    `${n(d.viewers)} (${Object.entries(result.viewerKinds)
      .map(([k, c]) => `${k} ${c}`)
      .join(', ')})`,
  ]);
  rows.push(['deliveries checked', n(d.checked)]);
  rows.push(['  delivered once', n(d.deliveredOnce)]);
  rows.push(['  lost', n(d.lost)]);
  rows.push(['  duplicated', n(d.duplicated)]);
  rows.push(['  out of order', n(d.outOfOrder)]);
  rows.push(['  covered by resync', `${n(d.excusedByResync)} (resyncs received: ${n(d.resyncs)})`]);
  rows.push(['like totals exact', `${n(d.likeTotals.exact)} of ${n(d.viewers - d.neverSubscribed.length)} viewers`]);
  rows.push([
    'reaction totals exact',
    `${n(d.reactionTotals.exact)} of ${n(d.viewers - d.neverSubscribed.length)} viewers`,
  ]);
  rows.push(['end markers missing', n(d.missingMarkers.length)]);
  rows.push([
    'viewer counts converged',
    result.viewerCounts.convergedMs === undefined
      ? `never (limit ${n(result.viewerCounts.limitMs)} ms)`
      : `${n(result.viewerCounts.convergedMs)} ms after the last fault (limit ${n(result.viewerCounts.limitMs)} ms)`,
  ]);
  const pr = result.presence;
  rows.push([
    'presence lists exact',
    pr.convergedMs === undefined
      ? `never (limit ${n(pr.limitMs)} ms)`
      : `${n(pr.convergedMs)} ms after the viewers were back (limit ${n(pr.limitMs)} ms), every region`,
  ]);
  rows.push([
    'presence repeats',
    `${n(pr.repeated.length)} of ${n(pr.continuous)} viewers with changes since their last snapshot`,
  ]);
  const peak = (tier: string) => Math.max(0, ...p.memory.filter((m) => m.tier === tier).map((m) => m.peakMb));
  rows.push([
    'peak memory (RSS)',
    `dispatcher ${peak('dispatcher')} MB, realtime ${peak('realtime')} MB, web ${peak('web')} MB, redis ${peak('redis')} MB`,
  ]);
  rows.push(['crashes, unhandled', `${p.crashes.length}, ${p.policyEvents.length}`]);
  rows.push(['result', result.failures.length === 0 ? 'PASS' : `FAIL: ${result.failures.join('; ')}`]);
  const width = Math.max(...rows.map(([label]) => label.length)) + 2;
  const lines = rows.map(([label, value]) => `${label.padEnd(width)}${value}`);
  const notes = [
    ...d.examples,
    ...result.viewerCounts.wrongAtViewers.slice(0, 5).map((w) => `viewer count: ${w}`),
    ...d.missingMarkers.slice(0, 5).map((m) => `no end marker: ${m}`),
    ...(pr.mismatch ? [`presence: ${pr.mismatch}`] : []),
    ...pr.repeated.slice(0, 5).map((r) => `presence: ${r}`),
    ...result.statusWrong.slice(0, 5).map((v) => `ended video not shown ended: ${v}`),
    ...p.crashes.slice(0, 5).map((c) => `crash: ${c.name} exited (${c.signal ?? c.code})`),
    ...p.policyEvents.slice(0, 5),
  ];
  const examples = notes.length > 0 ? `\nexamples:\n${notes.map((e) => `  ${e}`).join('\n')}\n` : '';
  return `fault-injection run — seed ${result.options.seed}, ${Math.round(result.options.durationMs / 1000)} s of faults\n${command}\n\n${lines.join('\n')}\n${examples}`;
}
