import { createServer } from 'node:net';

/** A TCP port free on 127.0.0.1 right now (the OS picks it). Used by tests, the bench and e2e. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/*
 * Ports chosen before their process listens (a peer must know it first, or the process keeps its
 * port across restarts): one from the kernel's ephemeral range (what binding port 0 gives) can be
 * taken meanwhile as the source port of any outgoing connection — and tests running beside make
 * thousands (a CI run lost a dispatcher to EADDRINUSE that way). So these come from below that
 * range, picked at random (parallel runs rarely meet), each checked free and never handed out
 * twice by this process.
 */
/*
 * Below the ephemeral range (from 32,768), laid out so no two kinds meet:
 *   2,000-11,999   Redis Cluster node ports (their bus: +10,000, 12,000-21,999)
 *   22,000-31,999  every other reserved port
 * and each cut into POOL_SLICES slices: concurrent vitest workers (VITEST_POOL_ID: no two files
 * run at once under one id) draw from their own slice, so a port one worker freed for a restart
 * (a whole cluster stopped and started again) is not taken by another worker meanwhile.
 */
const CLUSTER_FROM = 2_000;
const OTHER_FROM = 22_000;
const SPAN = 10_000;
const POOL_SLICES = 8;
const BUS_OFFSET = 10_000;
const slice = Number(process.env.VITEST_POOL_ID ?? 0) % POOL_SLICES;
const SLICE = SPAN / POOL_SLICES;
const handedOut = new Set<number>();

/** A random port of this process's slice of [from, from + SPAN). */
function candidate(from: number): number {
  return from + slice * SLICE + Math.floor(Math.random() * SLICE);
}

/** A free port below the ephemeral range, for a process that will listen on it later. */
export async function reservePort(): Promise<number> {
  for (let attempt = 0; attempt < 200; attempt++) {
    const port = candidate(OTHER_FROM);
    if (handedOut.has(port) || !(await isFree(port))) continue;
    handedOut.add(port);
    return port;
  }
  throw new Error(`no free port in slice ${slice} from ${OTHER_FROM}`);
}

/** A port for a Redis Cluster node whose bus port (+10000) is free too, both below the ephemeral range. */
export async function reserveClusterNodePort(): Promise<number> {
  for (let attempt = 0; attempt < 200; attempt++) {
    const port = candidate(CLUSTER_FROM);
    const bus = port + BUS_OFFSET;
    if (handedOut.has(port) || handedOut.has(bus) || !(await isFree(port)) || !(await isFree(bus))) continue;
    handedOut.add(port);
    handedOut.add(bus);
    return port;
  }
  throw new Error(`no free port pair (port, port + ${BUS_OFFSET}) in slice ${slice} from ${CLUSTER_FROM}`);
}

function isFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}
