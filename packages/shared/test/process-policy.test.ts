import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

/*
 * The process-wide policy every service runs under (installProcessPolicy, via runService): a
 * rejection nothing handled is logged and counted and the process goes on; an exception nothing
 * caught is logged and ends the process (its supervisor restarts it) rather than leaving it hung.
 * Run in a child process against the built package (`npm test` builds first).
 */
const server = fileURLToPath(new URL('../dist/server/index.js', import.meta.url));

function run(body: string) {
  const script = `import { runService, processFaults } from ${JSON.stringify(server)};
await runService('policy-test', async () => { ${body}; return async () => {}; });`;
  return spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', timeout: 10_000 });
}

describe('process-wide policy', () => {
  it('logs and counts an unhandled rejection, and the process goes on', () => {
    const result = run(`Promise.reject(new Error('nobody awaited me'));
      setTimeout(() => { console.log('alive', processFaults.unhandledRejections); process.exit(0); }, 100)`);
    expect(result.status).toBe(0);
    expect(result.stdout.trim()).toBe('alive 1');
    const line = JSON.parse(result.stderr.trim()) as Record<string, unknown>;
    expect(line).toMatchObject({ level: 50, service: 'policy-test', msg: 'unhandled rejection' });
    expect(JSON.stringify(line.err)).toContain('nobody awaited me');
  });

  it('logs an uncaught exception and exits 1 instead of running on in an unknown state', () => {
    const result = run(`setTimeout(() => { throw new Error('nobody caught me'); }, 10);
      setTimeout(() => console.log('still here'), 500)`);
    expect(result.status).toBe(1);
    expect(result.stdout).not.toContain('still here');
    expect(result.stderr).toContain('"msg":"uncaught exception; exiting"');
    expect(result.stderr).toContain('nobody caught me');
  });
});
