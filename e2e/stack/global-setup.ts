import { mkdirSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import type { FullConfig } from '@playwright/test';
import { launchTopology } from '../../scripts/topology.mjs';

/**
 * Starts the whole topology once for every suite (scripts/topology.mjs: two regions, each its own
 * redis-server, 2 dispatchers and 2 realtime nodes; the web app) and a small control endpoint the
 * resilience suite uses to kill and restart a service. Tears everything down after the run (a
 * failed one too) and keeps every service's log in test-results/stack.log.
 */
export default async function globalSetup(_config: FullConfig): Promise<() => Promise<void>> {
  // Every test signs its broadcasters up from 127.0.0.1: the per-address budgets for passkey
  // ceremonies and new accounts (a household's) are raised for the run. Presence settles in
  // seconds rather than the default tens (tests/presence.spec.ts waits for a viewer to leave).
  const topology = await launchTopology({
    env: {
      CEREMONIES_PER_HOUR_PER_ADDRESS: '100000',
      ACCOUNTS_PER_DAY_PER_ADDRESS: '100000',
      PRESENCE_GRACE_MS: '2000',
      PRESENCE_TTL_MS: '3000',
      PRESENCE_INTERVAL_MS: '200',
      PRESENCE_FLUSH_MS: '200',
    },
  });
  const control = createServer((req, res) => {
    const [, action, name] = (req.url ?? '').split('/');
    const known = topology.services().some((s) => s.name === name);
    if (req.method !== 'POST' || !name || !known || (action !== 'kill' && action !== 'restart')) {
      res.writeHead(404).end();
      return;
    }
    const done = action === 'kill' ? topology.kill(name) : topology.restart(name);
    done.then(
      () => res.writeHead(204).end(),
      (error: unknown) => res.writeHead(500).end(String(error)),
    );
  });
  await new Promise<void>((resolve) => control.listen(0, '127.0.0.1', resolve));

  process.env.OVATION_WEB_URL = topology.webUrl;
  process.env.OVATION_TOPOLOGY = JSON.stringify({
    token: topology.token,
    regions: topology.regions,
    realtimeUrls: topology.realtimeUrls,
    rtmpUrl: topology.rtmpUrl,
    services: topology.services().map(({ name, url }) => ({ name, url })),
    control: `http://127.0.0.1:${(control.address() as AddressInfo).port}`,
  });
  return async () => {
    const dir = fileURLToPath(new URL('../test-results/', import.meta.url));
    try {
      mkdirSync(dir, { recursive: true });
      writeFileSync(`${dir}stack.log`, topology.logs());
    } catch {}
    control.close();
    await topology.stop();
  };
}
