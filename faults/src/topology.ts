import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ConnectTokens } from '@ovation/shared/connect-token';
import { FaultProxy } from './fault-proxy.js';
import { reservePort } from './ports.js';
import { healthy, ManagedProcess, type ProcessSpec } from './processes.js';
import { RegionCluster } from './redis-cluster.js';

/*
 * The topology under test: two regions, each with its own Redis, two dispatchers and two realtime
 * nodes, the dispatchers of each region relaying to the other; the web app (Redis mode) publishing
 * into region r1. Every link a fault can hit goes through a FaultProxy:
 *
 *   node ──[node→dispatcher]──▶ dispatcher ──[dispatcher→redis]──▶ Redis of the region
 *   dispatcher ──[dispatcher→node]──▶ node           (the node's PUBLIC_URL is its proxy)
 *   dispatcher ──[dispatcher→peer, 80 ms]──▶ dispatcher of the other region
 *
 * Standard EventSource viewers reach a region's nodes through its load balancer (a proxy without
 * faults, like an L4 balancer in front of a fleet); the project's client is given the nodes.
 * The web app keeps its product store in a Redis of its own: the realtime store of a region is
 * what a fault may wipe; the product store's durability is not what this suite tests.
 *
 * A region named in `clusterRegions` (by default r2) keeps its realtime store on a Redis Cluster
 * instead (redis-cluster.ts): its dispatchers reach the nodes directly, so that region has no
 * dispatcher→redis links, and its store faults are the nodes' own (killed, paused).
 */

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const TOKEN = 'faults-internal-token-0123456789';
/** Signs connection tokens (web) and verifies them (realtime nodes): the same on both, fresh per run. */
const CONNECT_TOKEN_SECRET = randomBytes(32).toString('hex');

/** Inter-region latency on the relay links, as between data centres. */
export const PEER_LATENCY_MS = 80;
export const VIEWER_COUNT_INTERVAL_MS = 1000;
/** Presence, shorter than the defaults (10 s, 15 s) so that the check after the faults is quick. */
export const PRESENCE_GRACE_MS = 3000;
export const PRESENCE_TTL_MS = 4500;
const PRESENCE_INTERVAL_MS = 500;
const connectTokens = new ConnectTokens(CONNECT_TOKEN_SECRET);

/** A connection token for one viewer of `topic`, as the web signs them: named for an account, not for a guest. */
export function viewerToken(topic: string, viewerId: string, name?: string): string {
  return connectTokens.sign({ viewerId, topics: [topic], observe: [], ...(name === undefined ? {} : { name }) }).token;
}
export const NODE_TTL_MS = 3000;
const DRAIN_MS = 2000;

export type LinkKind = 'node->dispatcher' | 'dispatcher->node' | 'dispatcher->redis' | 'dispatcher->peer';

export interface Link {
  name: string;
  kind: LinkKind;
  proxy: FaultProxy;
}

export interface Region {
  name: string;
  /** The region's realtime store: one Redis server, or the nodes of a Redis Cluster. */
  redis: ManagedProcess[];
  cluster: RegionCluster | undefined;
  dispatchers: ManagedProcess[];
  nodes: ManagedProcess[];
  /** A balancer over the region's nodes (for standard EventSource viewers). */
  balancer: FaultProxy;
  /** The nodes' own URLs (what the project's client is given). */
  nodeUrls: string[];
}

export interface Topology {
  regions: Region[];
  web: ManagedProcess;
  webRedis: ManagedProcess;
  links: Link[];
  processes: ManagedProcess[];
  /** The regions' Redis Clusters (none when every region runs on one server). */
  clusters: RegionCluster[];
  stop(): Promise<void>;
}

const base = (): Record<string, string> => ({
  PATH: process.env.PATH ?? '',
  HOST: '127.0.0.1',
  INTERNAL_TOKEN: TOKEN,
  CONNECT_TOKEN_SECRET,
  LOG_LEVEL: 'warn',
});

function redisSpec(name: string, region: string, port: number): ProcessSpec {
  return {
    name,
    tier: 'redis',
    region,
    port,
    command: ['redis-server', '--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
    env: base(),
  };
}

export async function startTopology(options: {
  regions?: number;
  /** Regions whose realtime store is a Redis Cluster. */
  clusterRegions?: readonly string[];
  random: () => number;
}): Promise<Topology> {
  const regionNames = Array.from({ length: options.regions ?? 2 }, (_, i) => `r${i + 1}`);
  const links: Link[] = [];
  const processes: ManagedProcess[] = [];
  const proxies: FaultProxy[] = [];
  const proxy = async (name: string, kind: LinkKind | undefined, port: number) => {
    const p = await FaultProxy.start({
      name,
      targets: [{ host: '127.0.0.1', port }],
      port: await reservePort(),
      random: options.random,
    });
    proxies.push(p);
    if (kind) links.push({ name, kind, proxy: p });
    return p;
  };

  // Ports first: every process keeps its port across restarts, and peers need each other's.
  const layout = await Promise.all(
    regionNames.map(async (name) => ({
      name,
      redisPort: await reservePort(),
      dispatcherPorts: [await reservePort(), await reservePort()],
      nodePorts: [await reservePort(), await reservePort()],
    })),
  );

  const regions: Region[] = [];
  for (const region of layout) {
    const cluster = options.clusterRegions?.includes(region.name)
      ? await RegionCluster.create(region.name, base())
      : undefined;
    const redis = cluster
      ? cluster.nodes
      : [new ManagedProcess(redisSpec(`redis-${region.name}`, region.name, region.redisPort))];
    // Deliveries from any dispatcher to a node go through that node's proxy (its PUBLIC_URL).
    const nodeProxies = await Promise.all(
      region.nodePorts.map((port, j) => proxy(`${region.name} dispatchers→node-${j + 1}`, 'dispatcher->node', port)),
    );
    const dispatchers: ManagedProcess[] = [];
    for (const [i, port] of region.dispatcherPorts.entries()) {
      const store: Record<string, string> = cluster
        ? { REDIS_CLUSTER_NODES: cluster.seeds }
        : {
            REDIS_URL: `redis://127.0.0.1:${(await proxy(`${region.name} dispatcher-${i + 1}→redis`, 'dispatcher->redis', region.redisPort)).port}`,
          };
      const peers: string[] = [];
      for (const other of layout) {
        if (other === region) continue;
        const urls: string[] = [];
        for (const [k, peerPort] of other.dispatcherPorts.entries()) {
          const link = await proxy(
            `${region.name} dispatcher-${i + 1}→${other.name} dispatcher-${k + 1}`,
            'dispatcher->peer',
            peerPort,
          );
          link.latency(PEER_LATENCY_MS, 10);
          urls.push(link.url);
        }
        peers.push(`${other.name}=${urls.join('|')}`);
      }
      dispatchers.push(
        new ManagedProcess({
          name: `${region.name}-dispatcher-${i + 1}`,
          tier: 'dispatcher',
          region: region.name,
          port,
          command: [process.execPath, join(ROOT, 'apps/dispatcher/dist/server.js')],
          env: {
            ...base(),
            PORT: String(port),
            REGION: region.name,
            ...store,
            PEERS: peers.join(','),
            NODE_TTL_MS: String(NODE_TTL_MS),
            VIEWER_COUNT_INTERVAL_MS: String(VIEWER_COUNT_INTERVAL_MS),
            PRESENCE_GRACE_MS: String(PRESENCE_GRACE_MS),
            PRESENCE_TTL_MS: String(PRESENCE_TTL_MS),
            PRESENCE_INTERVAL_MS: String(PRESENCE_INTERVAL_MS),
          },
          ready: () => healthy(`http://127.0.0.1:${port}`),
        }),
      );
    }
    const nodes: ManagedProcess[] = [];
    for (const [j, port] of region.nodePorts.entries()) {
      const toDispatchers = await Promise.all(
        region.dispatcherPorts.map((dPort, i) =>
          proxy(`${region.name} node-${j + 1}→dispatcher-${i + 1}`, 'node->dispatcher', dPort),
        ),
      );
      nodes.push(
        new ManagedProcess({
          name: `${region.name}-node-${j + 1}`,
          tier: 'realtime',
          region: region.name,
          port,
          command: [process.execPath, join(ROOT, 'apps/realtime/dist/server.js')],
          env: {
            ...base(),
            PORT: String(port),
            REGION: region.name,
            NODE_ID: `${region.name}-node-${j + 1}`,
            PUBLIC_URL: (nodeProxies[j] as FaultProxy).url,
            DISPATCHER_URLS: toDispatchers.map((p) => p.url).join(','),
            NODE_HEARTBEAT_MS: '500',
            PRESENCE_FLUSH_MS: '500',
            HEARTBEAT_MS: '3000',
            DRAIN_MS: String(DRAIN_MS),
            CORS_ORIGINS: '*',
          },
          ready: () => healthy(`http://127.0.0.1:${port}`),
        }),
      );
    }
    const nodeUrls = region.nodePorts.map((port) => `http://127.0.0.1:${port}`);
    const balancer = await FaultProxy.start({
      name: `${region.name} balancer`,
      port: await reservePort(),
      targets: region.nodePorts.map((port) => ({ host: '127.0.0.1', port })),
    });
    proxies.push(balancer);
    regions.push({ name: region.name, redis, cluster, dispatchers, nodes, balancer, nodeUrls });
    processes.push(...redis, ...dispatchers, ...nodes);
  }

  const first = regions[0] as Region;
  const webRedis = new ManagedProcess(redisSpec('redis-web', first.name, await reservePort()));
  const webPort = await reservePort();
  const web = new ManagedProcess({
    name: 'web',
    tier: 'web',
    region: first.name,
    port: webPort,
    cwd: join(ROOT, 'apps/web'),
    command: [process.execPath, join(ROOT, 'apps/web/server.mjs')],
    env: {
      ...base(),
      PORT: String(webPort),
      NEXT_TELEMETRY_DISABLED: '1',
      REDIS_URL: `redis://127.0.0.1:${webRedis.spec.port}`,
      REDIS_PREFIX: 'web',
      DISPATCHER_URLS: first.dispatchers.map((d) => d.url).join(','),
      REALTIME_URLS: regions.flatMap((r) => r.nodeUrls).join(','),
      SESSION_SECRET: randomBytes(32).toString('hex'),
      // The origin the publishers use, as production names its own (passkeys are checked against it).
      WEB_ORIGINS: `http://127.0.0.1:${webPort}`,
      LIKES_PER_SECOND: '1000',
      COMMENTS_PER_SECOND: '100',
    },
    ready: () => healthy(`http://127.0.0.1:${webPort}`),
  });
  processes.push(webRedis, web);

  const clusters = regions.flatMap((r) => (r.cluster ? [r.cluster] : []));
  const stop = async () => {
    await Promise.all([...processes].reverse().map((p) => p.stop()));
    await Promise.all(proxies.map((p) => p.close()));
    for (const cluster of clusters) cluster.removeFiles();
  };
  try {
    // In dependency order; within a tier, together.
    await Promise.all([
      ...regions.flatMap((r) => (r.cluster ? [] : r.redis)).map((p) => p.start()),
      ...clusters.map((c) => c.start()),
      webRedis.start(),
    ]);
    await Promise.all(regions.flatMap((r) => r.dispatchers).map((p) => p.start()));
    await Promise.all(regions.flatMap((r) => r.nodes).map((p) => p.start()));
    await web.start(120_000);
  } catch (error) {
    await stop();
    throw error;
  }
  return { regions, web, webRedis, links, processes, clusters, stop };
}
