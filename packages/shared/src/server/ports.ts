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
const LOW = 20_000;
const HIGH = 32_000;
/** Where Linux's default ephemeral range starts. */
const EPHEMERAL_FROM = 32_768;
const handedOut = new Set<number>();

/** A free port below the ephemeral range, for a process that will listen on it later. */
export async function reservePort(): Promise<number> {
  for (let attempt = 0; attempt < 200; attempt++) {
    const port = LOW + Math.floor(Math.random() * (HIGH - LOW));
    if (handedOut.has(port) || !(await isFree(port))) continue;
    handedOut.add(port);
    return port;
  }
  throw new Error(`no free port between ${LOW} and ${HIGH}`);
}

/** Redis Cluster's bus listens on a node's port + 10000. */
const BUS_OFFSET = 10_000;

/** A port for a Redis Cluster node whose bus port is free too and below the ephemeral range as well. */
export async function reserveClusterNodePort(): Promise<number> {
  const high = EPHEMERAL_FROM - BUS_OFFSET;
  for (let attempt = 0; attempt < 200; attempt++) {
    const port = LOW + Math.floor(Math.random() * (high - LOW));
    const bus = port + BUS_OFFSET;
    if (handedOut.has(port) || handedOut.has(bus) || !(await isFree(port)) || !(await isFree(bus))) continue;
    handedOut.add(port);
    handedOut.add(bus);
    return port;
  }
  throw new Error(`no free port pair (port, port + ${BUS_OFFSET}) between ${LOW} and ${high}`);
}

function isFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}
