/** What the watchdog needs of a Redis client (ioredis's `Redis` has it). */
export interface WatchedConnection {
  readonly status: string;
  ping(): Promise<unknown>;
  /** Closes the connection; with `true`, makes a new one. */
  disconnect(reconnect?: boolean): void;
}

/**
 * A connection whose packets vanish (a network partition, a black hole) never closes by itself:
 * every command on it times out, for as long as TCP keeps it (hours), and the service answers 503
 * until it is restarted. So: a PING every `everyMs`, and after two in a row fail while the client
 * thinks it is connected, the connection is dropped and made again. Returns the stop function.
 */
export function watchConnection(client: WatchedConnection, everyMs = 1000): () => void {
  let failures = 0;
  let pinging = false;
  const timer = setInterval(() => {
    if (pinging || client.status !== 'ready') return;
    pinging = true;
    client
      .ping()
      .then(
        () => {
          failures = 0;
        },
        () => {
          if (++failures < 2) return;
          failures = 0;
          client.disconnect(true);
        },
      )
      .finally(() => {
        pinging = false;
      });
  }, everyMs);
  timer.unref();
  return () => clearInterval(timer);
}
