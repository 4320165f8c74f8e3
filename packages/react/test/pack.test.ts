import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const dir = fileURLToPath(new URL('..', import.meta.url));
const manifest = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {
  name: string;
  private?: boolean;
  exports: Record<string, { types: string; default: string } | string>;
};

/*
 * What `npm publish` would upload, from `npm pack --dry-run` (scripts off: it reads the dist the
 * build made — `npm test` builds first — instead of building again while other tests run).
 */
describe(`${manifest.name} as published`, () => {
  it('packs dist, README.md and package.json only, with every file its exports map names', () => {
    const out = execFileSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], {
      cwd: dir,
      encoding: 'utf8',
    });
    const [pack] = JSON.parse(out) as Array<{ name: string; files: Array<{ path: string }> }>;
    const files = (pack?.files ?? []).map((f) => f.path).sort();
    expect(pack?.name).toBe(manifest.name);
    expect(manifest.private).toBeUndefined();
    expect(files.filter((f) => !/^(dist\/.+\.(js|d\.ts)|README\.md|package\.json|LICENSE)$/.test(f))).toEqual([]);
    expect(files).toContain('README.md');
    for (const entry of Object.values(manifest.exports)) {
      for (const target of typeof entry === 'string' ? [entry] : [entry.types, entry.default]) {
        expect(files, `${target} (run the build first)`).toContain(target.replace(/^\.\//, ''));
      }
    }
  });
});
