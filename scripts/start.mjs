// `npm start`: the whole local stack — dispatcher, one realtime node and the web app — built
// first if needed, in memory mode unless REDIS_URL (one server) or REDIS_CLUSTER_NODES (a cluster) is set. Ctrl-C stops everything in order.
//
//   browser ─▶ web :3000        (pages, product API)
//   browser ─▶ realtime :4100   (GET /connect, SSE)
//   web/curl ─▶ dispatcher :4000 (POST /publish) ─▶ realtime ─▶ browsers
//   OBS/ffmpeg ─▶ ingest rtmp :1935 ─▶ HLS on :8935 (when ffmpeg is installed)
//
// `npm start -- --regions N` (2–4): N regions r1…rN, each its own redis-server (port 6390+i),
// dispatcher (4000+i) and realtime node (4100+i), the dispatchers peered with each other; the web
// app publishes to r1 and hands browsers the nodes of every region.
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { execa } from 'execa';
import { ROOT, staleWorkspaces, WORKSPACES } from './build-state.mjs';
import { healthy, portOpen, redisServerCommand } from './processes.mjs';

const env = process.env;
const host = env.HOST || '127.0.0.1';
const ports = {
  web: Number(env.WEB_PORT || 3000),
  dispatcher: Number(env.DISPATCHER_PORT || 4000),
  realtime: Number(env.REALTIME_PORT || 4100),
  ingest: Number(env.INGEST_PORT || 8935),
  rtmp: Number(env.RTMP_PORT || 1935),
};
const secrets = resolveSecrets();
const token = secrets.INTERNAL_TOKEN;
const regionsFlag = process.argv.indexOf('--regions');
const regionCount = regionsFlag === -1 ? 1 : Number(process.argv[regionsFlag + 1]);
if (!Number.isInteger(regionCount) || regionCount < 1 || regionCount > 4) {
  console.error('[start] --regions takes a number from 1 to 4');
  process.exit(2);
}
const multiRegion = regionCount > 1;
if (multiRegion && spawnSync('redis-server', ['--version']).status !== 0) {
  console.error('[start] --regions needs redis-server on the PATH (apt-get install redis-server)');
  process.exit(2);
}
const webUrl = `http://${host}:${ports.web}`;
// Passkeys refuse IP-address origins: the address to open in a browser is a name.
const browserUrl = host === '127.0.0.1' || host === '0.0.0.0' ? `http://localhost:${ports.web}` : webUrl;

// The ingest service (going live from OBS) packages HLS with ffmpeg: without it, the rest runs.
const ffmpeg = env.FFMPEG || 'ffmpeg';
const hasFfmpeg = spawnSync(ffmpeg, ['-version']).status === 0;
const ingestUrl = `http://${host}:${ports.ingest}`;
const rtmpUrl = `rtmp://${host === '0.0.0.0' ? 'localhost' : host}:${ports.rtmp}/live`;

/**
 * The stack's secrets. With NODE_ENV=production they come from the environment only — nothing is
 * made up or defaulted, and every service refuses the development defaults from the source.
 * Otherwise each run makes fresh random ones (any given in the environment are kept): one
 * INTERNAL_TOKEN for every service, one CONNECT_TOKEN_SECRET that the web signs connection tokens
 * with and the realtime nodes verify them with, one SESSION_SECRET for the web. The web process
 * runs in production mode anyway (a production build), so it needs real ones either way.
 */
function resolveSecrets() {
  const names = ['INTERNAL_TOKEN', 'SESSION_SECRET', 'CONNECT_TOKEN_SECRET'];
  if (env.NODE_ENV === 'production') {
    const missing = names.filter((name) => !env[name]);
    if (missing.length > 0) {
      console.error(`[start] NODE_ENV=production: secrets come from the environment only; set ${missing.join(', ')}`);
      process.exit(2);
    }
    console.log(`[start] NODE_ENV=production: using ${names.join(', ')} from the environment`);
    return Object.fromEntries(names.map((name) => [name, env[name]]));
  }
  return Object.fromEntries(names.map((name) => [name, env[name] || randomBytes(32).toString('hex')]));
}

/** One region: its name, Redis (multi-region only), dispatcher and realtime node. */
const regions = Array.from({ length: regionCount }, (_, i) => ({
  name: multiRegion ? `r${i + 1}` : env.REGION || 'local',
  redisPort: 6390 + i,
  dispatcherUrl: `http://${host}:${ports.dispatcher + i}`,
  realtimeUrl: `http://${host}:${ports.realtime + i}`,
}));
const dispatcherUrl = regions[0].dispatcherUrl;
const realtimeUrl = regions[0].realtimeUrl;

// The first start builds everything (later ones only what changed): say so, and how far it is.
const stale = staleWorkspaces();
if (stale.length > 0) {
  const all = stale.length === WORKSPACES.length;
  console.log(
    all
      ? `[start] Building the app once (about 90 s on a small machine; later starts skip it): ${stale.length} steps`
      : `[start] Building what changed since the last build: ${stale.map((w) => w.dir).join(', ')}`,
  );
  const began = Date.now();
  for (const [i, workspace] of stale.entries()) {
    const stepBegan = Date.now();
    const longest = workspace.dir === 'apps/web' ? ' (the web app: the longest step, about a minute)' : '';
    console.log(`[start] ${i + 1}/${stale.length} building ${workspace.dir}${longest} …`);
    const result = spawnSync('npm', ['run', 'build', '--silent', '-w', workspace.dir], {
      cwd: ROOT,
      stdio: 'inherit',
      env: { ...env, NEXT_TELEMETRY_DISABLED: '1' },
    });
    if (result.status !== 0) {
      console.error(`[start] building ${workspace.dir} failed (its output is above)`);
      process.exit(result.status ?? 1);
    }
    console.log(`[start] ${i + 1}/${stale.length} built ${workspace.dir} in ${seconds(Date.now() - stepBegan)}`);
  }
  console.log(`[start] Built in ${seconds(Date.now() - began)}; starting the services …`);
}

function seconds(ms) {
  return `${Math.round(ms / 1000)} s`;
}

const common = { ...env, HOST: host, INTERNAL_TOKEN: token, NEXT_TELEMETRY_DISABLED: '1' };
const services = regions.flatMap((region, i) => {
  const suffix = multiRegion ? `-${region.name}` : '';
  const peers = regions
    .filter((other) => other !== region)
    .map((other) => `${other.name}=${other.dispatcherUrl}`)
    .join(',');
  return [
    ...(multiRegion
      ? [
          {
            name: `redis${suffix}`,
            port: region.redisPort,
            command: redisServerCommand(region.redisPort),
            env: common,
          },
        ]
      : []),
    {
      name: `dispatcher${suffix}`,
      url: region.dispatcherUrl,
      command: [process.execPath, '--enable-source-maps', join(ROOT, 'apps/dispatcher/dist/server.js')],
      env: {
        ...common,
        PORT: String(ports.dispatcher + i),
        REGION: region.name,
        ...(multiRegion ? { REDIS_URL: `redis://127.0.0.1:${region.redisPort}`, PEERS: peers } : {}),
      },
    },
    {
      name: `realtime${suffix}`,
      url: region.realtimeUrl,
      command: [process.execPath, '--enable-source-maps', join(ROOT, 'apps/realtime/dist/server.js')],
      env: {
        ...common,
        PORT: String(ports.realtime + i),
        REGION: region.name,
        DISPATCHER_URLS: region.dispatcherUrl,
        // Ctrl-C should not wait the production 10 s drain.
        DRAIN_MS: env.DRAIN_MS || '1000',
        CONNECT_TOKEN_SECRET: secrets.CONNECT_TOKEN_SECRET,
        CORS_ORIGINS: env.CORS_ORIGINS || `http://localhost:${ports.web},http://127.0.0.1:${ports.web},${webUrl}`,
      },
    },
  ];
});
services.push({
  name: 'web',
  url: webUrl,
  // apps/web/server.mjs: Next behind the web's own HTTP server (body limit, client address).
  command: [process.execPath, join(ROOT, 'apps/web/server.mjs')],
  cwd: join(ROOT, 'apps/web'),
  env: {
    ...common,
    PORT: String(ports.web),
    DISPATCHER_URLS: dispatcherUrl,
    REALTIME_URLS: regions.map((r) => r.realtimeUrl).join(','),
    // The app's origins (passkeys are made for them): both names of this machine unless given.
    WEB_ORIGINS: env.WEB_ORIGINS || [...new Set([browserUrl, webUrl, `http://127.0.0.1:${ports.web}`])].join(','),
    // Sessions last as long as the stack unless SESSION_SECRET is given.
    SESSION_SECRET: secrets.SESSION_SECRET,
    CONNECT_TOKEN_SECRET: secrets.CONNECT_TOKEN_SECRET,
    ...(hasFfmpeg ? { INGEST_RTMP_URL: rtmpUrl, INGEST_PUBLIC_URL: ingestUrl } : {}),
  },
});
if (hasFfmpeg) {
  services.push({
    name: 'ingest',
    url: ingestUrl,
    command: [process.execPath, '--enable-source-maps', join(ROOT, 'apps/ingest/dist/server.js')],
    env: {
      ...common,
      PORT: String(ports.ingest),
      RTMP_PORT: String(ports.rtmp),
      PUBLIC_URL: ingestUrl,
      WEB_URL: webUrl,
      FFMPEG: ffmpeg,
    },
  });
} else {
  console.log(
    '[start] ffmpeg was not found, so the ingest service (going live from OBS) is not started; everything else is.\n' +
      '[start] To add it: sudo apt-get install ffmpeg (Debian/Ubuntu) or brew install ffmpeg (macOS), then npm start again.',
  );
}

const children = [];
let stopping = false;

/** Each line a service prints, prefixed with its name (an execa transform). */
const prefixed = (name) =>
  function* (line) {
    yield `[${name}] ${line}`;
  };

// With execa a SIGTERM is followed by SIGKILL after 15 s, and should this launcher die, its
// services die with it (`cleanup`) rather than hold the ports the next `npm start` needs.
function launch(service) {
  const [command, ...args] = service.command;
  const child = execa(command, args, {
    cwd: service.cwd ?? ROOT,
    env: service.env,
    stdin: 'ignore',
    stdout: [prefixed(service.name), 'inherit'],
    stderr: [prefixed(service.name), 'inherit'],
    buffer: false,
    reject: false,
    forceKillAfterDelay: 15_000,
  });
  void child.then(({ exitCode, signal, originalMessage }) => {
    if (stopping) return;
    console.error(`[start] ${service.name} exited (${signal ?? exitCode ?? originalMessage}); stopping the stack`);
    void stop(1);
  });
  children.push({ ...service, child });
}

/** Healthy: `/healthz` answers 200 (a redis-server: its port takes connections). */
async function waitHealthy(service, deadline) {
  while (Date.now() < deadline) {
    if (await (service.port !== undefined ? portOpen(service.port) : healthy(service.url))) return true;
    await new Promise((resolve) => setTimeout(resolve, 150));
  }
  return false;
}

async function stop(code) {
  if (stopping) return;
  stopping = true;
  // Reverse order: web, then realtime (tells viewers to reconnect), then the dispatcher.
  for (const { name, child } of [...children].reverse()) {
    if (!child.kill('SIGTERM')) continue; // exited already
    await child;
    console.log(`[start] ${name} stopped`);
  }
  process.exit(code);
}

process.on('SIGINT', () => void stop(0));
process.on('SIGTERM', () => void stop(0));

// In dependency order, each healthy before the next starts.
const deadline = Date.now() + 60_000;
for (const service of services) {
  launch(service);
  if (!(await waitHealthy(service, deadline))) {
    console.error(`[start] ${service.name} did not become healthy at ${service.url ?? `port ${service.port}`}`);
    await stop(1);
  }
}

const engine = multiRegion
  ? `${regionCount} regions, each with its own Redis`
  : env.REDIS_URL
    ? `Redis (${env.REDIS_URL})`
    : env.REDIS_CLUSTER_NODES
      ? `Redis Cluster (${env.REDIS_CLUSTER_NODES})`
      : 'in-memory';
const regionLines = regions
  .map((r) => `  ${r.name.padEnd(12)} realtime ${r.realtimeUrl}/connect   dispatcher ${r.dispatcherUrl}/publish`)
  .join('\n');
console.log(`
Ovation is running (${engine} engine). Ctrl-C stops everything.

  web          ${browserUrl}   (open this one: passkeys need a name, not an IP address)
${regionLines}
${
  hasFfmpeg
    ? `  ingest       ${rtmpUrl}   (OBS: Settings → Stream → Custom; the stream key is in the studio)`
    : '  ingest       not started (no ffmpeg)'
}

${tryIt()}`);

/**
 * The first thing to try, printed with this run's addresses and token. With several regions: a
 * viewer in the last region, a publish in the first, so the comment is seen crossing regions.
 */
function tryIt() {
  const publish = (url, text) =>
    `  curl -X POST ${url}/publish \\
    -H 'Authorization: Bearer ${token}' -H 'Content-Type: application/json' \\
    -d '{"topic":"video:demo","type":"comment","data":{"text":"${text}"}}'`;
  if (!multiRegion) {
    return `Try it — in one terminal, watch a topic:
  curl -N '${realtimeUrl}/connect?topics=video:demo'
in another, publish to it:
${publish(dispatcherUrl, 'hello')}
`;
  }
  const first = regions[0];
  const last = regions[regions.length - 1];
  return `Try it across regions — in one terminal, a viewer in ${last.name}:
  curl -N '${last.realtimeUrl}/connect?topics=video:demo'
in another, publish in ${first.name} (its dispatcher relays to ${regions
    .slice(1)
    .map((r) => r.name)
    .join(', ')}):
${publish(first.dispatcherUrl, `from ${first.name}`)}
`;
}
