/** What the watchdog needs of a Redis client (ioredis's `Redis` has it). */
export interface WatchedConnection {
  readonly status: string;
  ping(): Promise<unknown>;
  /** Closes the connection; with `true`, makes a new one. */
  disconnect(reconnect?: boolean): void;
}

export interface WatchdogOptions {
  /** How often a PING goes out (one at a time). */
  everyMs?: number;
  /** A PING not answered within this is a failure (Redis answers one in well under a millisecond). */
  timeoutMs?: number;
}

/**
 * A connection whose packets vanish (a network partition, a black hole) never closes by itself:
 * every command on it times out, for as long as TCP keeps it (hours), and the service answers 503
 * until it is restarted. So: a PING every `everyMs`, and one that is not answered within
 * `timeoutMs` while the client thinks it is connected drops the connection and makes it again —
 * within about `everyMs + timeoutMs` of the link going dead. (A Redis that is only stopped for a
 * while is reconnected to as well: harmless, its commands were waiting anyway.) Returns the stop
 * function.
 */
export function watchConnection(client: WatchedConnection, options: WatchdogOptions = {}): () => void {
  const { everyMs = 500, timeoutMs = 1000 } = options;
  let pinging = false;
  const timer = setInterval(() => {
    if (pinging || client.status !== 'ready') return;
    pinging = true;
    let deadline: NodeJS.Timeout | undefined;
    const late = new Promise<never>((_, reject) => {
      deadline = setTimeout(() => reject(new Error('PING not answered')), timeoutMs);
    });
    Promise.race([client.ping(), late])
      .catch(() => {
        if (client.status === 'ready') client.disconnect(true);
      })
      .finally(() => {
        clearTimeout(deadline);
        pinging = false;
      });
  }, everyMs);
  timer.unref();
  return () => clearInterval(timer);
}
