// Which workspaces need a build: a workspace is stale when its build output is missing or older
// than any of its sources (or than a package's build, which it compiles against).
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('..', import.meta.url));

export const WORKSPACES = [
  { name: '@ovation/shared', dir: 'packages/shared', sources: ['src'], output: 'dist/index.js' },
  { name: '@ovation/publisher', dir: 'packages/publisher', sources: ['src'], output: 'dist/index.js' },
  { name: '@ovation/client', dir: 'packages/client', sources: ['src'], output: 'dist/index.js' },
  { name: '@ovation/react', dir: 'packages/react', sources: ['src'], output: 'dist/index.js' },
  { name: '@ovation/dispatcher', dir: 'apps/dispatcher', sources: ['src'], output: 'dist/server.js' },
  { name: '@ovation/realtime', dir: 'apps/realtime', sources: ['src'], output: 'dist/server.js' },
  { name: '@ovation/ingest', dir: 'apps/ingest', sources: ['src'], output: 'dist/server.js' },
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

/** The packages (packages/*): what the services and the web compile against. */
const PACKAGES = WORKSPACES.filter((w) => w.dir.startsWith('packages/'));

/** Workspaces (in build order) whose output is missing or stale; a stale package always is. */
export function staleWorkspaces(names = WORKSPACES.map((w) => w.name)) {
  const stalePackages = PACKAGES.filter((p) => newestMtime(join(ROOT, p.dir, 'src')) > outputMtime(p));
  const newestPackage = Math.max(0, ...PACKAGES.map(outputMtime));
  return WORKSPACES.filter((workspace) => {
    if (PACKAGES.includes(workspace)) return stalePackages.includes(workspace);
    if (!names.includes(workspace.name)) return false;
    if (stalePackages.length > 0) return true;
    const built = outputMtime(workspace);
    if (built === 0) return true;
    const newestSource = Math.max(...workspace.sources.map((s) => newestMtime(join(ROOT, workspace.dir, s))));
    return newestSource > built || newestPackage > built;
  });
}
