import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { WORKSPACES } from '../../scripts/build-state.mjs';

/*
 * `npm start` on a fresh clone builds what scripts/build-state.mjs lists, in its order: a package
 * the apps compile against that is missing there is never built, and the web's build fails on a
 * fresh clone (it did, for @ovation/publisher) while CI, which runs `npm run build`, stays green.
 */

const root = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
  workspaces: string[];
};

describe('the build list of npm start', () => {
  it('holds every package (packages/*), before the apps, in the order of the root workspaces', () => {
    const packages = root.workspaces.filter((dir) => dir.startsWith('packages/'));
    const listed = WORKSPACES.map((w) => w.dir);
    expect(listed.filter((dir) => dir.startsWith('packages/'))).toEqual(packages);
    const firstApp = listed.findIndex((dir) => !dir.startsWith('packages/'));
    expect(listed.slice(0, firstApp)).toEqual(packages);
  });
});
