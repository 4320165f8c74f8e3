// Which workspaces need a build: a workspace is stale when its build output is missing or older
// than any of its sources (or than the shared package's build, which it compiles against).
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('..', import.meta.url));

export const WORKSPACES = [
  { name: '@ovation/shared', dir: 'packages/shared', sources: ['src'], output: 'dist/index.js' },
  { name: '@ovation/dispatcher', dir: 'apps/dispatcher', sources: ['src'], output: 'dist/server.js' },
  { name: '@ovation/realtime', dir: 'apps/realtime', sources: ['src'], output: 'dist/server.js' },
  {
    name: '@ovation/web',
    dir: 'apps/web',
    sources: ['app', 'lib', 'public', 'next.config.mjs', 'instrumentation.ts', 'proxy.ts'],
    output: '.next/BUILD_ID',
  },
];

function newestMtime(path) {
  if (!existsSync(path)) return 0;
  const stat = statSync(path);
  if (!stat.isDirectory()) return stat.mtimeMs;
  let newest = 0;
  for (const entry of readdirSync(path)) newest = Math.max(newest, newestMtime(join(path, entry)));
  return newest;
}

function outputMtime(workspace) {
  const output = join(ROOT, workspace.dir, workspace.output);
  return existsSync(output) ? statSync(output).mtimeMs : 0;
}

/** Workspaces (in build order) whose output is missing or stale. */
export function staleWorkspaces(names = WORKSPACES.map((w) => w.name)) {
  const shared = WORKSPACES[0];
  const sharedStale = newestMtime(join(ROOT, shared.dir, 'src')) > outputMtime(shared);
  return WORKSPACES.filter((workspace) => {
    if (!names.includes(workspace.name) && !(sharedStale && workspace === shared)) return false;
    if (workspace !== shared && sharedStale) return true;
    const built = outputMtime(workspace);
    if (built === 0) return true;
    const newestSource = Math.max(...workspace.sources.map((s) => newestMtime(join(ROOT, workspace.dir, s))));
    return newestSource > built || (workspace !== shared && outputMtime(shared) > built);
  });
}
