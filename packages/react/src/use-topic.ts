'use client';

import {
  type ClientStatus,
  canShareConnection,
  connectShared,
  type EventMap,
  type OvationEvents,
  RealtimeClient,
  type RealtimeClientOptions,
  type RefusedReason,
  type SharedConnectionOptions,
  type SharedRealtimeConnection,
  type TokenSource,
  type TopicsTokenSource,
  type TypedEvent,
  type VisibilitySource,
} from '@ovation/client';
import { useEffect, useRef, useState } from 'react';

export interface TopicConnection {
  status: ClientStatus;
  /** The realtime node in use. */
  node?: string | undefined;
  /**
   * On the connection the origin's tabs share: a topic it carried already sends this hook the
   * topic's state (a `snapshot`: counts, total, status) but not the events before it subscribed,
   * so state loaded before then may lack what was published meanwhile (a comment).
   */
  shared?: true | undefined;
}

export interface UseTopicOptions<M extends EventMap = OvationEvents> {
  /** The realtime nodes; none: no connection (e.g. until the page knows them). */
  urls: readonly string[];
  /** The event types to receive (default: those of Ovation's own topics). */
  types?: readonly (keyof M & string)[];
  onEvent: (event: TypedEvent<M>) => void;
  /** Read when a connection starts: later changes apply from the next one. */
  token?: TokenSource | undefined;
  onResync?: ((topic: string) => void) | undefined;
  /**
   * The shared connection will not carry `topic` (malformed, one too many, or not granted: a
   * deleted video); the hook's other topics carry on. Only on a shared connection.
   */
  onRefused?: ((topic: string, reason: RefusedReason) => void) | undefined;
  observer?: boolean | undefined;
  preferredUrl?: string | undefined;
  /** Report receive latencies to the node (default: off). */
  reportLatency?: boolean | undefined;
  /** Close the stream while the page is hidden for long, reopen when it is visible (default: off). */
  pauseWhenHidden?: boolean | undefined;
  /** Anything else of the client (timers, an EventSource for Node or tests). */
  client?: Partial<RealtimeClientOptions<M>> | undefined;
  /**
   * Share one connection with the origin's other tabs (connectShared): default on in browsers that
   * can (SharedWorker, or Web Locks and BroadcastChannel), unless `client` brings its own
   * EventSource. The shared connection takes its token from `sharedToken` (default: the web tier's
   * GET /api/realtime-token for every tab's videos), not `token`; `pauseWhenHidden` does not apply
   * (other tabs may be visible).
   */
  shared?: boolean | undefined;
  sharedToken?: TopicsTokenSource | undefined;
  /**
   * Who the page says the viewer is, once it knows (a user id, or `guest`; undefined while it
   * does not): when it changes (a guest signs in), the stream opens again with a new token, which
   * names them — presence counts them by account from then on.
   */
  identity?: string | undefined;
}

/** The document's visibility, where there is a document. */
export function documentVisibility(): VisibilitySource | undefined {
  if (typeof document === 'undefined') return undefined;
  return {
    isHidden: () => document.visibilityState === 'hidden',
    onChange: (listener) => {
      document.addEventListener('visibilitychange', listener);
      return () => document.removeEventListener('visibilitychange', listener);
    },
  };
}

/**
 * Receives the events of one topic (or several) while the component is mounted. In a browser, on
 * the connection the origin's tabs share (see `shared`); otherwise one connection per hook. It is
 * made again only when the URLs, topics or types change (compared by value), so callbacks and
 * options may be new objects on every render.
 */
export function useTopic<M extends EventMap = OvationEvents>(
  topic: string | readonly string[],
  options: UseTopicOptions<M>,
): TopicConnection {
  const [connection, setConnection] = useState<TopicConnection>({ status: 'connecting' });
  const latest = useRef(options);
  latest.current = options;
  const urls = options.urls.join(',');
  const topics = (typeof topic === 'string' ? [topic] : topic).join(',');
  const types = options.types?.join(',');
  /** Set while the hook is on the shared connection: told who the viewer is. */
  const sharedConnection = useRef<SharedRealtimeConnection | undefined>(undefined);
  const identity = options.identity;
  // A connection of its own is made again when the viewer changes from the first one known (with
  // the token then given); the shared one is told, and reopens itself.
  const firstIdentity = useRef<string | undefined>(undefined);
  if (identity !== undefined && firstIdentity.current === undefined) firstIdentity.current = identity;
  const sharing = (options.shared ?? options.client?.createEventSource === undefined) && canShareConnection();
  const viewerChanged = !sharing && identity !== undefined && identity !== firstIdentity.current ? identity : '';

  useEffect(() => {
    if (identity !== undefined) sharedConnection.current?.identify(identity);
  }, [identity]);

  // viewerChanged is read by no line of the effect: it makes a connection of its own again.
  // biome-ignore lint/correctness/useExhaustiveDependencies: viewerChanged, on purpose
  useEffect(() => {
    if (!urls || !topics) return;
    const o = latest.current;
    // Asked for or not, sharing needs the browser's means (SharedWorker, or Web Locks and BroadcastChannel).
    if ((o.shared ?? o.client?.createEventSource === undefined) && canShareConnection()) {
      const shared = connectShared({
        urls: urls.split(','),
        observer: o.observer ?? false,
        preferredUrl: o.preferredUrl,
        reportLatency: o.reportLatency ?? false,
        token: o.sharedToken,
        // The first hook's settings make the page's shared connection (an EventSource for tests).
        client: o.client as SharedConnectionOptions['client'],
      });
      sharedConnection.current = shared;
      if (o.identity !== undefined) shared.identify(o.identity);
      const unsubscribe = shared.subscribe(
        topics.split(','),
        {
          // The shared connection checked the envelope as a client does; its type is the map's.
          onEvent: (event) => latest.current.onEvent(event as unknown as TypedEvent<M>),
          onResync: (resynced) => latest.current.onResync?.(resynced),
          onRefused: (refused, reason) => latest.current.onRefused?.(refused, reason),
          onStatus: (status, node) => setConnection({ status, ...(node ? { node } : {}), shared: true }),
        },
        types === undefined ? [] : types.split(','),
      );
      return () => {
        sharedConnection.current = undefined;
        unsubscribe();
      };
    }
    const visibility = o.pauseWhenHidden ? documentVisibility() : undefined;
    const client = new RealtimeClient<M>({
      reportLatency: o.reportLatency ?? false,
      observer: o.observer ?? false,
      ...o.client,
      urls: urls.split(','),
      topics: topics.split(','),
      ...(types === undefined ? {} : { eventTypes: types.split(',') as (keyof M & string)[] }),
      ...(o.token ? { token: o.token } : {}),
      ...(o.preferredUrl ? { preferredUrl: o.preferredUrl } : {}),
      ...(visibility ? { visibility } : {}),
      onEvent: (event) => latest.current.onEvent(event),
      onResync: (resynced) => latest.current.onResync?.(resynced),
      onStatus: (status, detail) => setConnection({ status, ...(detail.nodeUrl ? { node: detail.nodeUrl } : {}) }),
    });
    client.start();
    return () => client.stop();
  }, [urls, topics, types, viewerChanged]);

  return connection;
}
