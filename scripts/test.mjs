// `npm test`: everything a change must pass, in order — build, typecheck, lint, then the vitest
// suites (unit, contract, integration with real processes and real Redis), the fault-injection
// suite (a 60-second run with a fixed seed) and the e2e suites. Ends with one line
// `N passed, N failed` over every test and check that ran. A skipped or todo test counts as a
// failure (a stray `.skip` must not vanish), and reports are removed before their run (a stale one
// must never add to the totals).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from './build-state.mjs';

const env = { ...process.env, NEXT_TELEMETRY_DISABLED: '1' };
let passed = 0;
let failed = 0;

function run(label, command, args) {
  console.log(`\n=== ${label}: ${command} ${args.join(' ')}`);
  const started = Date.now();
  const result = spawnSync(command, args, { cwd: ROOT, stdio: 'inherit', env });
  const ok = result.status === 0;
  console.log(
    `=== ${label}: ${ok ? 'ok' : `FAILED (exit ${result.status ?? result.signal})`} in ${((Date.now() - started) / 1000).toFixed(1)} s`,
  );
  return ok;
}

function check(label, command, args) {
  if (run(label, command, args)) passed++;
  else failed++;
}

if (!run('build', 'npm', ['run', 'build'])) {
  console.log('\n0 passed, 1 failed');
  process.exit(1);
}
check('typecheck', 'npm', ['run', 'typecheck']);
check('lint', 'npm', ['run', 'lint']);

const resultsDir = join(ROOT, '.test-results');
mkdirSync(resultsDir, { recursive: true });
const vitestJson = join(resultsDir, 'vitest.json');
rmSync(vitestJson, { force: true });
const vitestOk = run('vitest', 'npx', [
  'vitest',
  'run',
  '--reporter=default',
  '--reporter=json',
  `--outputFile.json=${vitestJson}`,
]);
if (existsSync(vitestJson)) {
  const report = JSON.parse(readFileSync(vitestJson, 'utf8'));
  const skipped = (report.numPendingTests ?? 0) + (report.numTodoTests ?? 0);
  if (skipped > 0) console.log(`\n=== vitest: ${skipped} skipped or todo tests count as failed`);
  passed += report.numPassedTests ?? 0;
  failed += (report.numFailedTests ?? 0) + (report.numFailedTestSuites ?? 0) + skipped;
  if (!vitestOk && (report.numFailedTests ?? 0) + (report.numFailedTestSuites ?? 0) === 0) failed++;
} else {
  failed++;
}

// The fault-injection suite, 60 seconds with a fixed seed (`npm run faults -- --minutes 10` for
// the long run; RELIABILITY.md).
check('faults', 'npm', ['run', 'faults', '--', '--seconds', '60', '--seed', '20261201', '--quiet']);

// Playwright suites against the real stack in Debian's Chromium; counted test by test.
const playwrightJson = join(resultsDir, 'playwright.json');
rmSync(playwrightJson, { force: true });
const e2eOk = run('e2e', 'npm', ['test', '-w', 'e2e']);
if (existsSync(playwrightJson)) {
  const stats = JSON.parse(readFileSync(playwrightJson, 'utf8')).stats ?? {};
  if ((stats.skipped ?? 0) > 0) console.log(`\n=== e2e: ${stats.skipped} skipped tests count as failed`);
  passed += stats.expected ?? 0;
  // A test that passed only on a retry is not a pass (and retries are off): flaky counts as failed.
  failed += (stats.unexpected ?? 0) + (stats.flaky ?? 0) + (stats.skipped ?? 0);
  if (!e2eOk && (stats.unexpected ?? 0) === 0) failed++;
} else {
  failed++;
}

console.log(`\n${passed} passed, ${failed} failed`);
process.exit(failed === 0 ? 0 : 1);
