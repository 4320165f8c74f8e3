import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { formatReport } from './report.js';
import { runFaults } from './run.js';

/*
 * npm run faults -- --minutes N --seed S   (or --seconds N)
 * Runs the fault-injection suite (see RELIABILITY.md) and prints its table; exits 1 when any
 * guarantee was broken. `--report file.json` keeps the whole result.
 */
const { values } = parseArgs({
  options: {
    minutes: { type: 'string' },
    seconds: { type: 'string' },
    seed: { type: 'string' },
    'direct-topics': { type: 'string', default: '4' },
    'web-videos': { type: 'string', default: '2' },
    'cluster-regions': { type: 'string', default: 'r2' },
    report: { type: 'string' },
    logs: { type: 'string' },
    quiet: { type: 'boolean', default: false },
    help: { type: 'boolean', default: false },
  },
});

if (values.help) {
  console.log(`npm run faults -- [--minutes N | --seconds N] [--seed S] [--direct-topics N] [--web-videos N]
                  [--cluster-regions r2 | r1,r2 | none] [--report file.json] [--logs file.txt] [--quiet]

Starts the real topology (2 regions × 2 dispatchers × 2 realtime nodes; region r1's store one
Redis server, r2's a Redis Cluster of 3 masters + 3 replicas; the web app in Redis mode) with a
fault proxy on every link, runs viewers of three kinds (the project's client, a standard
EventSource, raw sockets) and continuous publishing, injects a seeded random schedule of faults,
then checks every delivery. Defaults: 1 minute, a random seed (printed).`);
  process.exit(0);
}

const positive = (name: string, raw: string | undefined): number | undefined => {
  if (raw === undefined) return undefined;
  const value = Number(raw);
  if (!Number.isFinite(value) || value <= 0) {
    console.error(`--${name}: must be a positive number`);
    process.exit(2);
  }
  return value;
};
const seconds = positive('seconds', values.seconds) ?? (positive('minutes', values.minutes) ?? 1) * 60;
const seed =
  values.seed === undefined ? Math.floor(Math.random() * 2 ** 31) : Math.floor(positive('seed', values.seed) ?? 1);
const clusterRegions =
  values['cluster-regions'] === 'none' ? [] : (values['cluster-regions'] ?? '').split(',').filter(Boolean);
for (const region of clusterRegions) {
  if (region !== 'r1' && region !== 'r2') {
    console.error(`--cluster-regions: ${region} is not a region (r1, r2, or none)`);
    process.exit(2);
  }
}
const started = Date.now();
const log = (line: string) => {
  if (!values.quiet) {
    const at = new Date().toISOString().slice(11, 23);
    console.log(`[${((Date.now() - started) / 1000).toFixed(1).padStart(6)} s ${at}] ${line}`);
  }
};

const result = await runFaults({
  seed,
  durationMs: seconds * 1000,
  directTopics: positive('direct-topics', values['direct-topics']) ?? 4,
  webVideos: positive('web-videos', values['web-videos']) ?? 2,
  clusterRegions,
  log,
  ...(values.logs ? { logsPath: values.logs } : {}),
});
const clusterFlag = values['cluster-regions'] === 'r2' ? '' : ` --cluster-regions ${values['cluster-regions']}`;
const command = `npm run faults -- ${values.minutes !== undefined ? `--minutes ${values.minutes}` : `--seconds ${seconds}`} --seed ${seed}${clusterFlag}`;
console.log(`\n${formatReport(result, command)}`);
if (values.report) writeFileSync(values.report, JSON.stringify(result, null, 2));
process.exit(result.failures.length === 0 ? 0 : 1);
