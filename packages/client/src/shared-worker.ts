/// <reference lib="webworker" />
import { type LockManagerLike, SharedHub, TAB_HEARTBEAT_MS, WORKER_HEARTBEAT_MS, watchTabs } from './shared-hub.js';
import { asTabMessage, type HubConfig, type HubMessage } from './shared-protocol.js';
import { tokenForTopics } from './token.js';

/*
 * The SharedWorker holding an origin's realtime connections (see shared-connection.ts): every tab
 * of the origin connects a port; a hub per connection name (viewers', observers') is made with
 * the first tab's settings and fans its stream out to that name's ports; its node list is then the
 * newest token answer's (`realtimeUrls`). The worker ends when the last tab closes, and with it the
 * streams. It beats every WORKER_HEARTBEAT_MS: a tab that stops hearing it holds the stream itself.
 */

declare const self: SharedWorkerGlobalScope;

interface Hub {
  hub: SharedHub;
  ports: Map<string, MessagePort>;
}

const hubs = new Map<string, Hub>();
const locks = self.navigator.locks as unknown as LockManagerLike | undefined;

function hubFor(config: HubConfig): Hub {
  const existing = hubs.get(config.name);
  if (existing) return existing;
  const ports = new Map<string, MessagePort>();
  const send = (message: HubMessage) => {
    for (const port of ports.values()) port.postMessage(message);
  };
  const hub = new SharedHub({
    urls: config.urls,
    observer: config.observer,
    preferredUrl: config.preferredUrl,
    reportLatency: config.reportLatency,
    // The worker's origin is the pages': the session cookie goes with the request.
    token: tokenForTopics({ baseUrl: self.location.origin }),
    send,
    heartbeatMs: WORKER_HEARTBEAT_MS,
    // A tab gone without a `bye` (crashed, discarded): its lock is released, its topics dropped.
    // Without Web Locks: a tab silent for three heartbeats is gone.
    ...(locks
      ? {
          watch: (tab: string, gone: () => void) =>
            watchTabs(locks, config.name)(tab, () => {
              ports.delete(tab);
              gone();
            }),
        }
      : { expireTabsAfterMs: 3 * TAB_HEARTBEAT_MS }),
  });
  const made = { hub, ports };
  hubs.set(config.name, made);
  return made;
}

self.onconnect = (event: MessageEvent) => {
  const port = event.ports[0];
  if (!port) return;
  /** The hub this port's tab uses (known from its first `want`). */
  let joined: Hub | undefined;
  port.onmessage = (message: MessageEvent<unknown>) => {
    // From a tab, possibly of another build or broken: checked, and dropped unless well-formed.
    const data = asTabMessage(message.data);
    if (!data) return;
    if (data.t === 'bye') {
      joined?.ports.delete(data.tab);
      joined?.hub.bye(data.tab);
      return;
    }
    if (!joined && data.config) joined = hubFor(data.config);
    if (!joined) return;
    joined.ports.set(data.tab, port);
    joined.hub.want(data);
  };
  port.start();
};
