// The full topology on one machine, on free ports, in Redis mode — what the e2e suites run against,
// and `npm run topology` for trying it by hand (prints the URLs; Ctrl-C stops it):
//
//   region r1: redis-server ─ dispatcher ×2 ─ realtime node ×2      (dispatchers of each region
//   region r2: redis-server ─ dispatcher ×2 ─ realtime node ×2       relay to the other: PEERS)
//   web: product store in r1's Redis, publishes to r1, hands browsers every node of both regions
//
// Services may die or be killed (a resilience test does): the others keep running; `restart`
// brings one back on its port. Nothing here is fixed: ports are free ones, Redis keeps no files.
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { ROOT, staleWorkspaces } from './build-state.mjs';
import { healthy, portOpen, redisServerCommand } from './processes.mjs';

const LOG_BYTES = 40_000;

function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

async function waitUntil(check, what, deadline) {
  while (Date.now() < deadline) {
    if (await check()) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`${what} not ready in time`);
}

/**
 * Starts `regions` regions of `dispatchers` dispatchers and `nodes` realtime nodes each, with the
 * web app. Returns the URLs, the services (name, url, pid) and kill/restart/logs/stop.
 */
export async function launchTopology({ regions = 2, dispatchers = 2, nodes = 2, env: extra = {} } = {}) {
  const stale = staleWorkspaces();
  if (stale.length > 0) {
    console.log(`[topology] building ${stale.map((w) => w.dir).join(', ')} (all of them: about 90 s) …`);
  }
  for (const workspace of stale) {
    const result = spawnSync('npm', ['run', 'build', '-w', workspace.dir], {
      cwd: ROOT,
      stdio: 'inherit',
      env: { ...process.env, NEXT_TELEMETRY_DISABLED: '1' },
    });
    if (result.status !== 0) throw new Error(`building ${workspace.name} failed`);
  }
  if (spawnSync('redis-server', ['--version']).status !== 0) throw new Error('redis-server is not on the PATH');

  const layout = [];
  for (let r = 1; r <= regions; r++) {
    layout.push({
      name: `r${r}`,
      redisPort: await freePort(),
      dispatcherPorts: await Promise.all(Array.from({ length: dispatchers }, freePort)),
      nodePorts: await Promise.all(Array.from({ length: nodes }, freePort)),
    });
  }
  const webPort = await freePort();
  // The ingest (RTMP in, HLS out): only where ffmpeg is installed, as with `npm start`.
  const withIngest = spawnSync(process.env.FFMPEG || 'ffmpeg', ['-version']).status === 0;
  const [ingestPort, rtmpPort] = withIngest ? [await freePort(), await freePort()] : [];
  const url = (port) => `http://127.0.0.1:${port}`;
  // Fresh secrets per topology (the web runs in production mode, which refuses any in the source):
  // one internal token for every service, one connect-token secret for the web and the nodes.
  const token = extra.INTERNAL_TOKEN ?? randomBytes(32).toString('hex');
  const connectTokenSecret = extra.CONNECT_TOKEN_SECRET ?? randomBytes(32).toString('hex');
  const base = { PATH: process.env.PATH ?? '', HOST: '127.0.0.1', INTERNAL_TOKEN: token, LOG_LEVEL: 'warn', ...extra };

  /** name → { spec, child, logs } */
  const services = new Map();
  const specs = [];
  for (const region of layout) {
    const peers = layout
      .filter((other) => other !== region)
      .map((other) => `${other.name}=${other.dispatcherPorts.map(url).join('|')}`)
      .join(',');
    specs.push({
      name: `redis-${region.name}`,
      port: region.redisPort,
      command: redisServerCommand(region.redisPort),
      env: base,
      ready: () => portOpen(region.redisPort),
    });
    region.dispatcherPorts.forEach((port, i) => {
      specs.push({
        name: `dispatcher-${region.name}-${i + 1}`,
        url: url(port),
        command: [process.execPath, join(ROOT, 'apps/dispatcher/dist/server.js')],
        env: {
          ...base,
          PORT: String(port),
          REGION: region.name,
          REDIS_URL: `redis://127.0.0.1:${region.redisPort}`,
          PEERS: peers,
          VIEWER_COUNT_INTERVAL_MS: extra.VIEWER_COUNT_INTERVAL_MS ?? '500',
        },
      });
    });
    region.nodePorts.forEach((port, i) => {
      specs.push({
        name: `realtime-${region.name}-${i + 1}`,
        url: url(port),
        command: [process.execPath, join(ROOT, 'apps/realtime/dist/server.js')],
        env: {
          ...base,
          PORT: String(port),
          REGION: region.name,
          NODE_ID: `${region.name}-node-${i + 1}`,
          DISPATCHER_URLS: region.dispatcherPorts.map(url).join(','),
          NODE_HEARTBEAT_MS: '250',
          DRAIN_MS: '1000',
          CORS_ORIGINS: `${url(webPort)},http://localhost:${webPort}`,
          CONNECT_TOKEN_SECRET: connectTokenSecret,
        },
      });
    });
  }
  const first = layout[0];
  const realtimeUrls = layout.flatMap((region) => region.nodePorts.map(url));
  specs.push({
    name: 'web',
    url: url(webPort),
    cwd: join(ROOT, 'apps/web'),
    command: [process.execPath, join(ROOT, 'apps/web/server.mjs')],
    env: {
      ...base,
      PORT: String(webPort),
      NEXT_TELEMETRY_DISABLED: '1',
      REDIS_URL: `redis://127.0.0.1:${first.redisPort}`,
      REDIS_PREFIX: 'web',
      DISPATCHER_URLS: first.dispatcherPorts.map(url).join(','),
      REALTIME_URLS: realtimeUrls.join(','),
      SESSION_SECRET: randomBytes(32).toString('hex'),
      CONNECT_TOKEN_SECRET: connectTokenSecret,
      // Both names of it: browsers use passkeys only under a name (localhost), never an IP.
      WEB_ORIGINS: `${url(webPort)},http://localhost:${webPort}`,
      ...(withIngest
        ? { INGEST_RTMP_URL: `rtmp://127.0.0.1:${rtmpPort}/live`, INGEST_PUBLIC_URL: url(ingestPort) }
        : {}),
    },
  });
  if (withIngest) {
    specs.push({
      name: 'ingest',
      url: url(ingestPort),
      command: [process.execPath, join(ROOT, 'apps/ingest/dist/server.js')],
      env: {
        ...base,
        PORT: String(ingestPort),
        RTMP_PORT: String(rtmpPort),
        PUBLIC_URL: url(ingestPort),
        WEB_URL: url(webPort),
        // Each publish's start and end (with its reason) in the stack's log.
        LOG_LEVEL: 'info',
        ...(process.env.FFMPEG ? { FFMPEG: process.env.FFMPEG } : {}),
      },
    });
  }

  // execa: only the environment given here (extendEnv: false); SIGKILL 5 s after an unheeded
  // SIGTERM; and the services die with this process (`cleanup`) if it dies before stop().
  const start = async (spec) => {
    const [command, ...args] = spec.command;
    const child = execa(command, args, {
      cwd: spec.cwd ?? ROOT,
      env: spec.env,
      extendEnv: false,
      stdin: 'ignore',
      buffer: false,
      reject: false,
      forceKillAfterDelay: 5000,
    });
    const entry = { spec, child, logs: services.get(spec.name)?.logs ?? '' };
    const keep = (chunk) => {
      entry.logs = (entry.logs + chunk.toString()).slice(-LOG_BYTES);
    };
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
    void child.then(({ exitCode, signal, originalMessage }) =>
      keep(`\n[topology] ${spec.name} exited (${signal ?? exitCode ?? originalMessage})\n`),
    );
    services.set(spec.name, entry);
    await waitUntil(spec.ready ?? (() => healthy(spec.url)), spec.name, Date.now() + 60_000);
  };

  const running = ({ nodeChildProcess: child }) => child.exitCode === null && child.signalCode === null;

  const stop = async () => {
    for (const { child } of [...services.values()].reverse()) if (child.kill('SIGTERM')) await child;
  };

  try {
    for (const spec of specs) await start(spec);
  } catch (error) {
    await stop();
    throw error;
  }

  return {
    webUrl: url(webPort),
    /** Where encoders push (undefined without ffmpeg): rtmp://…/live/<stream key>. */
    rtmpUrl: withIngest ? `rtmp://127.0.0.1:${rtmpPort}/live` : undefined,
    token,
    connectTokenSecret,
    regions: layout.map((region) => ({
      name: region.name,
      dispatchers: region.dispatcherPorts.map(url),
      nodes: region.nodePorts.map(url),
    })),
    realtimeUrls,
    services: () =>
      [...services.values()].map(({ spec, child }) => ({
        name: spec.name,
        url: spec.url,
        pid: child.pid,
        running: running(child),
      })),
    async kill(name, signal = 'SIGKILL') {
      const entry = services.get(name);
      if (!entry) throw new Error(`no service ${name}`);
      if (entry.child.kill(signal)) await entry.child; // false: already gone
    },
    async restart(name) {
      const entry = services.get(name);
      if (!entry) throw new Error(`no service ${name}`);
      if (running(entry.child)) await this.kill(name, 'SIGTERM');
      await start(entry.spec);
    },
    logs: () => [...services.values()].map(({ spec, logs }) => `===== ${spec.name}\n${logs}`).join('\n'),
    stop,
  };
}

// `npm run topology`: start it and wait for Ctrl-C.
if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const topology = await launchTopology();
  console.log(`\nOvation topology running (2 regions × 2 dispatchers × 2 nodes, Redis per region). Ctrl-C stops it.\n`);
  console.log(`  web   ${topology.webUrl}`);
  for (const region of topology.regions) {
    console.log(`  ${region.name}    dispatchers ${region.dispatchers.join(' ')}   nodes ${region.nodes.join(' ')}`);
  }
  console.log(`  internal token  ${topology.token}\n`);
  // A viewer in the last region, a publish in the first: the comment crosses regions.
  const [first, last] = [topology.regions[0], topology.regions.at(-1)];
  console.log(`Try it across regions — in one terminal, a viewer in ${last.name}:
  curl -N '${last.nodes[0]}/connect?topics=video:demo'
in another, publish in ${first.name}:
  curl -X POST ${first.dispatchers[0]}/publish \\
    -H 'Authorization: Bearer ${topology.token}' -H 'Content-Type: application/json' \\
    -d '{"topic":"video:demo","type":"comment","data":{"text":"from ${first.name}"}}'
`);
  const shutdown = () => topology.stop().then(() => process.exit(0));
  process.on('SIGINT', shutdown);
  process.on('SIGTERM', shutdown);
}
