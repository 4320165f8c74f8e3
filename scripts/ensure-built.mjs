// `npm start -w <workspace>` runs this first: it builds the workspace (and the shared package it
// compiles against) when their output is missing or older than their sources.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT, staleWorkspaces } from './build-state.mjs';

const name = JSON.parse(readFileSync(join(process.cwd(), 'package.json'), 'utf8')).name;
for (const workspace of staleWorkspaces([name])) {
  process.stderr.write(`building ${workspace.name} ...\n`);
  const result = spawnSync('npm', ['run', 'build', '-w', workspace.dir], {
    cwd: ROOT,
    stdio: ['ignore', 'inherit', 'inherit'],
    env: { ...process.env, NEXT_TELEMETRY_DISABLED: '1' },
  });
  if (result.status !== 0) process.exit(result.status ?? 1);
}
