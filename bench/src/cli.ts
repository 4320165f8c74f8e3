import { writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { parseArgs } from 'node:util';
import { type FanoutResult, runFanout } from './scenarios/fanout.js';

const USAGE = `npm run bench -- --scenario fanout [--viewers 1000] [--seconds 10] [--batch 20] [--workers 2] [--window 500] [--json FILE]`;

const { values } = parseArgs({
  options: {
    scenario: { type: 'string', default: 'fanout' },
    viewers: { type: 'string', default: '1000' },
    seconds: { type: 'string', default: '10' },
    batch: { type: 'string', default: '20' },
    workers: { type: 'string', default: '2' },
    window: { type: 'string', default: '500' },
    json: { type: 'string' },
    help: { type: 'boolean', default: false },
  },
});

function positive(name: string, raw: string | undefined): number {
  const value = Number(raw);
  if (!Number.isInteger(value) || value <= 0) {
    process.stderr.write(`--${name} must be a positive integer\n${USAGE}\n`);
    process.exit(2);
  }
  return value;
}

if (values.help) {
  process.stdout.write(`${USAGE}\n`);
  process.exit(0);
}
if (values.scenario !== 'fanout') {
  process.stderr.write(`unknown scenario ${values.scenario}\n${USAGE}\n`);
  process.exit(2);
}

const result: FanoutResult = await runFanout({
  viewers: positive('viewers', values.viewers),
  seconds: positive('seconds', values.seconds),
  batch: positive('batch', values.batch),
  workers: positive('workers', values.workers),
  window: positive('window', values.window),
});

const machine = `${cpus().length} x ${cpus()[0]?.model ?? 'cpu'}, node ${process.version}`;
const rows: Array<[string, string]> = [
  ['machine', machine],
  ['viewers connected / failed', `${result.connected} / ${result.failed}`],
  ['measured for', `${result.seconds.toFixed(1)} s`],
  ['events published / s', result.eventsPerSecond.toFixed(0)],
  ['deliveries / s (events x viewers)', result.deliveriesPerSecond.toFixed(0)],
  ['events per dispatcher->node batch', result.eventsPerNodeBatch.toFixed(1)],
  ['lost / duplicated deliveries', `${result.lost} / ${result.duplicated}`],
  ['viewers dropped as slow', String(result.slowClientDrops)],
  ...Object.entries(result.cpu).map(([name, s]): [string, string] => [
    `cpu ${name}`,
    `${(s.cpu * 100).toFixed(0)}% of a core, RSS ${s.rssMb.toFixed(0)} MB`,
  ]),
];
const width = Math.max(...rows.map(([k]) => k.length));
process.stdout.write(`\nscenario fanout\n${rows.map(([k, v]) => `  ${k.padEnd(width)}  ${v}`).join('\n')}\n`);
if (values.json) writeFileSync(values.json, `${JSON.stringify({ machine, ...result }, null, 2)}\n`);
if (result.lost > 0 || result.duplicated > 0 || result.failed > 0 || result.slowClientDrops > 0) process.exit(1);
