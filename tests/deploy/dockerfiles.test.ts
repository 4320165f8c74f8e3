import { DockerfileParser, type Instruction } from 'dockerfile-ast';
import { describe, expect, it } from 'vitest';
import { list, readText, record, text } from './read.js';
import { DEFAULT_PORT, TIERS } from './tiers.js';

const BASE_IMAGE = 'node:24-bookworm-slim';
const WORKSPACES = list(record(JSON.parse(readText('package.json')), 'package.json').workspaces, 'workspaces').map(
  (w) => text(w, 'workspace'),
);

/** The instructions of each stage, split at FROM. */
function stages(source: string): Instruction[][] {
  const result: Instruction[][] = [];
  for (const instruction of DockerfileParser.parse(source).getInstructions()) {
    if (instruction.getKeyword() === 'FROM') result.push([]);
    result.at(-1)?.push(instruction);
  }
  return result;
}

/** Each `keyword` instruction's arguments, flags included, line continuations folded. */
const args = (stage: Instruction[], keyword: string) =>
  stage
    .filter((i) => i.getKeyword() === keyword)
    .map((i) => i.getTextContent().slice(keyword.length).replace(/\\\n/g, ' ').replace(/\s+/g, ' ').trim());

describe.each(TIERS)('apps/%s/Dockerfile', (tier) => {
  const all = stages(readText(`apps/${tier}/Dockerfile`));
  const build = all[0] ?? [];
  const runtime = all.at(-1) ?? [];

  it('builds in one stage on Node 24 and runs from another', () => {
    expect(all).toHaveLength(2);
    expect(args(build, 'FROM')).toEqual([`${BASE_IMAGE} AS build`]);
    expect(args(runtime, 'FROM')).toEqual([`${BASE_IMAGE} AS runtime`]);
    expect(args(build, 'RUN').join('\n')).toMatch(/npm ci .*--workspace packages\/shared .*--workspace apps\//);
    expect(args(build, 'RUN').join('\n')).toMatch(new RegExp(`npm run build .*apps/${tier}`));
  });

  it('installs production dependencies only in the runtime stage and copies the build output', () => {
    const runs = args(runtime, 'RUN').join('\n');
    expect(runs).toContain(`npm ci --omit=dev --workspace apps/${tier} --include-workspace-root=false`);
    const copies = args(runtime, 'COPY');
    expect(copies.every((c) => c.startsWith('--from=build '))).toBe(true);
    expect(copies.some((c) => c.includes('/app/packages/shared/dist'))).toBe(true);
    expect(copies.some((c) => c.includes(tier === 'web' ? '/app/apps/web/.next' : `/app/apps/${tier}/dist`))).toBe(
      true,
    );
  });

  it("copies every workspace's package.json before npm ci in both stages (npm ci wants them all)", () => {
    for (const stage of [build, runtime]) {
      const copies = args(stage, 'COPY').join('\n');
      for (const workspace of WORKSPACES) expect(copies, workspace).toContain(`${workspace}/package.json`);
    }
  });

  it('runs as a numeric non-root user, in production, on its port, with a health check', () => {
    const user = args(runtime, 'USER');
    expect(user).toHaveLength(1);
    expect(user[0]).toMatch(/^[1-9]\d*(:\d+)?$/);
    const env = args(runtime, 'ENV').join(' ');
    expect(env).toContain('NODE_ENV=production');
    expect(env).toContain('HOST=0.0.0.0');
    expect(env).toContain(`PORT=${DEFAULT_PORT[tier]}`);
    expect(args(runtime, 'EXPOSE')).toEqual([String(DEFAULT_PORT[tier])]);
    const healthcheck = args(runtime, 'HEALTHCHECK');
    expect(healthcheck).toHaveLength(1);
    expect(healthcheck[0]).toContain('/healthz');
    expect(healthcheck[0]).toContain(String(DEFAULT_PORT[tier]));
    // node as PID 1, not npm: SIGTERM must reach the service's drain.
    const cmd = args(runtime, 'CMD');
    expect(cmd).toHaveLength(1);
    expect(JSON.parse(cmd[0] ?? '')[0]).toBe('node');
    // USER comes after everything that installs or writes as root.
    const keywords = runtime.map((i) => i.getKeyword());
    expect(keywords.lastIndexOf('RUN')).toBeLessThan(keywords.indexOf('USER'));
  });
});

describe('.dockerignore', () => {
  it('sends no local build, dependency, secret or test output to the daemon', () => {
    const ignored = readText('.dockerignore').split('\n');
    for (const pattern of ['**/node_modules', '**/dist', '**/.next', '**/.env', '.git', '**/test']) {
      expect(ignored).toContain(pattern);
    }
    for (const workspace of WORKSPACES.filter((w) => !w.startsWith('apps/') && !w.startsWith('packages/'))) {
      expect(ignored).toContain(`!${workspace}/package.json`);
    }
  });
});
