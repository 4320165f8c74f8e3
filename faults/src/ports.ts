import { createServer } from 'node:net';

/*
 * Ports for the processes of the topology. A process keeps its port across restarts, so the port
 * must stay free while the process is down: ports from the kernel's ephemeral range (what binding
 * port 0 gives) can be taken meanwhile as the source port of any outgoing connection — and the
 * suite makes thousands. So ports come from below that range, picked at random (parallel runs
 * rarely meet), each checked free and never handed out twice by this process.
 */
const LOW = 20_000;
const HIGH = 32_000;
const handedOut = new Set<number>();

export async function reservePort(): Promise<number> {
  for (let attempt = 0; attempt < 200; attempt++) {
    const port = LOW + Math.floor(Math.random() * (HIGH - LOW));
    if (handedOut.has(port) || !(await isFree(port))) continue;
    handedOut.add(port);
    return port;
  }
  throw new Error(`no free port between ${LOW} and ${HIGH}`);
}

function isFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}
