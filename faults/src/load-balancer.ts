import { connect, type Socket } from 'node:net';

export interface Upstream {
  host: string;
  port: number;
}

/** The upstreams, or a function read again for every new connection (a process may come back on a new port). */
export type Targets = readonly Upstream[] | (() => readonly Upstream[]);

/**
 * Picks the upstream of each new connection round-robin, like an L4 load balancer: a target that refuses or does
 * not answer within the connect timeout is skipped and the next one tried, so clients that reconnect to one
 * address reach whichever process is up.
 */
export class RoundRobin {
  #next = 0;
  #failedAttempts = 0;

  constructor(
    private readonly targets: Targets,
    private readonly connectTimeoutMs: number,
  ) {}

  /** Connection attempts that were refused, failed or timed out. */
  get failedAttempts(): number {
    return this.#failedAttempts;
  }

  /**
   * A connected socket (with an error listener attached), or undefined when no target accepted or `signal`
   * aborted. Never rejects; a socket it gave up on is closed before it resolves.
   */
  async connect(signal: AbortSignal): Promise<Socket | undefined> {
    let targets: readonly Upstream[];
    try {
      targets = typeof this.targets === 'function' ? this.targets() : this.targets;
    } catch {
      return undefined; // a throwing targets function leaves the connection unroutable, not the process crashed
    }
    const first = this.#next++;
    for (let i = 0; i < targets.length && !signal.aborted; i++) {
      const target = targets[(first + i) % targets.length];
      if (!target) continue;
      const socket = await attempt(target, this.connectTimeoutMs, signal);
      if (socket) return socket;
      if (!signal.aborted) this.#failedAttempts++;
    }
    return undefined;
  }
}

function attempt(target: Upstream, timeoutMs: number, signal: AbortSignal): Promise<Socket | undefined> {
  return new Promise((resolve) => {
    // allowHalfOpen: the proxy forwards each FIN itself, after the data queued ahead of it.
    const socket = connect({ host: target.host, port: target.port, noDelay: true, allowHalfOpen: true });
    socket.on('error', ignore);
    const settle = (connected: boolean) => {
      clearTimeout(timer);
      signal.removeEventListener('abort', onAbort);
      socket.off('connect', onConnect);
      socket.off('close', onClose);
      if (connected) return resolve(socket);
      if (socket.closed) return resolve(undefined);
      socket.once('close', () => resolve(undefined));
      socket.destroy();
    };
    const onConnect = () => settle(true);
    const onClose = () => settle(false);
    const onAbort = () => settle(false);
    const timer = setTimeout(onAbort, timeoutMs);
    socket.once('connect', onConnect);
    socket.once('close', onClose);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

function ignore(): void {}
