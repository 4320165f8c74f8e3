import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

/*
 * What `npm publish` would upload of each SDK package, from `npm pack --dry-run` (scripts off: it
 * reads the dist the build made — `npm test` builds first — instead of building again while other
 * tests run).
 */

const SDKS = ['client', 'react', 'publisher'];

describe.each(SDKS)('@ovation/%s as published', (name) => {
  const dir = fileURLToPath(new URL(`../../packages/${name}/`, import.meta.url));
  const manifest = JSON.parse(readFileSync(`${dir}package.json`, 'utf8')) as {
    name: string;
    private?: boolean;
    exports: Record<string, { types: string; default: string } | string>;
  };

  it('packs dist, README.md, package.json and examples only, with every file its exports map names', () => {
    const out = execFileSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], {
      cwd: dir,
      encoding: 'utf8',
    });
    const [pack] = JSON.parse(out) as Array<{ name: string; files: Array<{ path: string }> }>;
    const files = (pack?.files ?? []).map((f) => f.path).sort();
    expect(pack?.name).toBe(`@ovation/${name}`);
    expect(manifest.private).toBeUndefined();
    const shipped = /^(dist\/.+\.(js|d\.ts)|examples\/[\w-]+\.ts|README\.md|package\.json|LICENSE)$/;
    expect(files.filter((f) => !shipped.test(f))).toEqual([]);
    expect(files).toContain('README.md');
    for (const entry of Object.values(manifest.exports)) {
      for (const target of typeof entry === 'string' ? [entry] : [entry.types, entry.default]) {
        expect(files, `${target} (run the build first)`).toContain(target.replace(/^\.\//, ''));
      }
    }
  });
});
