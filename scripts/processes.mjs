// What the local launchers (start.mjs, topology.mjs) share about the processes they start.
import { connect } from 'node:net';

/** A private redis-server on `port` that keeps nothing on disk. */
export function redisServerCommand(port) {
  return ['redis-server', '--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'];
}

/** Resolves true when something accepts TCP connections on 127.0.0.1:`port`. */
export function portOpen(port) {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1', () => {
      socket.end();
      resolve(true);
    });
    socket.on('error', () => resolve(false));
  });
}

/** Resolves true when `url`/healthz answers 200. */
export function healthy(url) {
  return fetch(`${url}/healthz`).then(
    (response) => response.ok,
    () => false,
  );
}
