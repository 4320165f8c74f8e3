// Builds every workspace whose build is missing or older than its sources (shared, dispatcher,
// realtime, web): what `npm run faults` needs before it starts the topology.
import { spawnSync } from 'node:child_process';
import { ROOT, staleWorkspaces } from './build-state.mjs';

for (const workspace of staleWorkspaces()) {
  process.stderr.write(`building ${workspace.name} ...\n`);
  const result = spawnSync('npm', ['run', 'build', '-w', workspace.dir], {
    cwd: ROOT,
    stdio: ['ignore', 'inherit', 'inherit'],
    env: { ...process.env, NEXT_TELEMETRY_DISABLED: '1' },
  });
  if (result.status !== 0) process.exit(result.status ?? 1);
}
