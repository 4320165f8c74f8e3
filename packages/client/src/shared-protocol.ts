import type { ClientStatus } from './realtime-client.js';
import { asEnvelopeValue, type EventEnvelope } from './wire.js';

/*
 * What tabs and the hub of a shared connection say to each other (see shared-hub.ts), and the
 * checks every message passes before it is acted on: a message comes from another tab or worker,
 * possibly of another build, possibly broken. A message that is not one of these shapes is
 * dropped, never thrown on. The rules for topics and video ids mirror @ovation/shared's (the
 * client cannot import it at runtime); test/shared-protocol.test.ts holds them to it.
 */

/**
 * Bumped when a message changes shape: it is in every message and in the lock and channel names,
 * so tabs of another build never share a connection with this one.
 */
export const SHARED_PROTOCOL_VERSION = 2;

/** @ovation/shared's TOPIC_PATTERN. */
export const TOPIC_PATTERN = /^[A-Za-z0-9:_-]{1,128}$/;
/** A video id, as GET /api/realtime-token's `videoId` takes it. */
export const VIDEO_ID_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;
/** @ovation/shared's MAX_TOPICS_PER_CONNECTION. */
export const MAX_TOPICS_PER_CONNECTION = 64;
/** GET /api/realtime-token's MAX_VIDEOS_PER_TOKEN (`videos` is granted besides). */
export const MAX_VIDEOS_PER_TOKEN = MAX_TOPICS_PER_CONNECTION - 1;
/** @ovation/shared's EVENT_TYPE_PATTERN. */
export const EVENT_TYPE_PATTERN = /^[a-z_]{1,32}$/;
/** An event id kept as a resume point (joined with `,` in `lastEventId`). */
const EVENT_ID_PATTERN = /^[A-Za-z0-9._:-]{1,200}$/;
const TAB_ID_PATTERN = /^[A-Za-z0-9._:-]{1,128}$/;
const VIDEO_TOPIC_PREFIX = 'video:';
const STATUSES: readonly ClientStatus[] = ['connecting', 'open', 'reconnecting', 'paused', 'closed'];

/** Why the hub will not carry a topic. */
export type RefusedReason = 'invalid' | 'too_many' | 'not_granted';

/** Why `topic` cannot be carried by a shared connection, or undefined when it can. */
export function topicProblem(topic: string): 'invalid' | undefined {
  if (!TOPIC_PATTERN.test(topic)) return 'invalid';
  if (topic.startsWith(VIDEO_TOPIC_PREFIX) && !VIDEO_ID_PATTERN.test(topic.slice(VIDEO_TOPIC_PREFIX.length))) {
    return 'invalid';
  }
  return undefined;
}

export function isVideoTopic(topic: string): boolean {
  return topic.startsWith(VIDEO_TOPIC_PREFIX);
}

export function isEventId(id: unknown): id is string {
  return typeof id === 'string' && EVENT_ID_PATTERN.test(id);
}

export interface HubConfig {
  /** The shared connection's name (a worker holds one hub per name). */
  name: string;
  urls: string[];
  observer?: boolean | undefined;
  preferredUrl?: string | undefined;
  reportLatency?: boolean | undefined;
}

/** A tab's message to the hub. */
export type TabMessage =
  | {
      v: typeof SHARED_PROTOCOL_VERSION;
      t: 'want';
      tab: string;
      topics: string[];
      types: string[];
      /** The tab's last id per topic: resume points a new hub lacks (it may have missed a few). */
      lastIds: Record<string, string>;
      /**
       * Who the tab's page says the viewer is (a user id, `guest`), once it knows: someone new to
       * the hub (a guest who signed in) reopens the stream with a new token, which names them.
       */
      identity?: string;
      /** The connection's settings, for a hub in a SharedWorker (the first tab's are used). */
      config?: HubConfig;
    }
  | { v: typeof SHARED_PROTOCOL_VERSION; t: 'bye'; tab: string };

/** The hub's message to the tabs (all of them). */
export type HubMessage =
  | { v: typeof SHARED_PROTOCOL_VERSION; t: 'leader'; leader: string }
  | { v: typeof SHARED_PROTOCOL_VERSION; t: 'event'; event: EventEnvelope }
  | { v: typeof SHARED_PROTOCOL_VERSION; t: 'status'; status: ClientStatus; node?: string }
  | { v: typeof SHARED_PROTOCOL_VERSION; t: 'resync'; topic: string }
  /** The hub's resume point of each topic it carries: a tab that becomes the hub starts from them. */
  | { v: typeof SHARED_PROTOCOL_VERSION; t: 'points'; lastIds: Record<string, string> }
  /**
   * A topic's state (a `snapshot` event, see topic-state.ts) for the one tab that just asked for a
   * topic the stream carried already: the node sends no snapshot for it, and the tab's own load of
   * the topic may have missed the events before it joined. Other tabs ignore it.
   */
  | { v: typeof SHARED_PROTOCOL_VERSION; t: 'state'; tab: string; event: EventEnvelope }
  /** Every topic the hub will not carry now, and why (their tabs are told, the others carry on). */
  | { v: typeof SHARED_PROTOCOL_VERSION; t: 'refused'; topics: Record<string, RefusedReason> }
  /**
   * A SharedWorker's hub is alive (every WORKER_HEARTBEAT_MS): a tab that hears nothing from the
   * worker for three of them takes it for dead and holds the connection itself.
   */
  | { v: typeof SHARED_PROTOCOL_VERSION; t: 'beat' };

type Json = Record<string, unknown>;

function isRecord(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isStringArray(value: unknown, max: number): value is string[] {
  return Array.isArray(value) && value.length <= max && value.every((item) => typeof item === 'string');
}

function optional<T>(value: unknown, check: (value: unknown) => value is T): boolean {
  return value === undefined || check(value);
}

const isBoolean = (value: unknown): value is boolean => typeof value === 'boolean';
const isString = (value: unknown): value is string => typeof value === 'string';
export const isUrl = (value: unknown): value is string =>
  typeof value === 'string' && /^https?:\/\/[^\s,]+$/.test(value);

/** Resume points, keeping only well-formed topic → id entries. */
export function asLastIds(value: unknown): Record<string, string> | undefined {
  if (!isRecord(value)) return undefined;
  const kept: Record<string, string> = {};
  for (const [topic, id] of Object.entries(value)) {
    if (topicProblem(topic) === undefined && isEventId(id)) kept[topic] = id;
  }
  return kept;
}

function asConfig(value: unknown): HubConfig | undefined {
  if (!isRecord(value) || typeof value.name !== 'string' || value.name.length === 0 || value.name.length > 512) {
    return undefined;
  }
  const { urls } = value;
  if (!Array.isArray(urls) || urls.length === 0 || urls.length > 64 || !urls.every(isUrl)) return undefined;
  if (!optional(value.observer, isBoolean) || !optional(value.reportLatency, isBoolean)) return undefined;
  if (!optional(value.preferredUrl, isUrl)) return undefined;
  return {
    name: value.name,
    urls: [...urls],
    ...(value.observer === undefined ? {} : { observer: value.observer as boolean }),
    ...(value.reportLatency === undefined ? {} : { reportLatency: value.reportLatency as boolean }),
    ...(value.preferredUrl === undefined ? {} : { preferredUrl: value.preferredUrl as string }),
  };
}

/**
 * A tab's message, or undefined when it is not one of this version. Its topics are kept as
 * strings (the hub refuses the ones it cannot carry, and says so); its types and resume points
 * lose the malformed entries.
 */
export function asTabMessage(value: unknown): TabMessage | undefined {
  if (!isRecord(value) || value.v !== SHARED_PROTOCOL_VERSION) return undefined;
  if (typeof value.tab !== 'string' || !TAB_ID_PATTERN.test(value.tab)) return undefined;
  if (value.t === 'bye') return { v: SHARED_PROTOCOL_VERSION, t: 'bye', tab: value.tab };
  if (value.t !== 'want') return undefined;
  if (!isStringArray(value.topics, 1_024) || !isStringArray(value.types, 256)) return undefined;
  const lastIds = asLastIds(value.lastIds);
  if (!lastIds) return undefined;
  const config = value.config === undefined ? undefined : asConfig(value.config);
  if (value.config !== undefined && !config) return undefined;
  const identity = typeof value.identity === 'string' && value.identity.length <= 128 ? value.identity : undefined;
  return {
    v: SHARED_PROTOCOL_VERSION,
    t: 'want',
    tab: value.tab,
    topics: [...new Set(value.topics)],
    types: [...new Set(value.types.filter((type) => EVENT_TYPE_PATTERN.test(type)))],
    lastIds,
    ...(config ? { config } : {}),
    ...(identity === undefined ? {} : { identity }),
  };
}

/** The hub's message, or undefined when it is not one of this version. */
export function asHubMessage(value: unknown): HubMessage | undefined {
  if (!isRecord(value) || value.v !== SHARED_PROTOCOL_VERSION) return undefined;
  const v = SHARED_PROTOCOL_VERSION;
  switch (value.t) {
    case 'leader':
      return typeof value.leader === 'string' && TAB_ID_PATTERN.test(value.leader)
        ? { v, t: 'leader', leader: value.leader }
        : undefined;
    case 'event': {
      const event = asEnvelopeValue(value.event);
      return event && topicProblem(event.topic) === undefined && isEventId(event.id)
        ? { v, t: 'event', event }
        : undefined;
    }
    case 'status':
      if (!STATUSES.includes(value.status as ClientStatus) || !optional(value.node, isString)) return undefined;
      return {
        v,
        t: 'status',
        status: value.status as ClientStatus,
        ...(typeof value.node === 'string' ? { node: value.node } : {}),
      };
    case 'resync':
      return typeof value.topic === 'string' && topicProblem(value.topic) === undefined
        ? { v, t: 'resync', topic: value.topic }
        : undefined;
    case 'beat':
      return { v, t: 'beat' };
    case 'state': {
      const event = asEnvelopeValue(value.event);
      if (typeof value.tab !== 'string' || !TAB_ID_PATTERN.test(value.tab)) return undefined;
      return event && event.type === 'snapshot' && topicProblem(event.topic) === undefined && isEventId(event.id)
        ? { v, t: 'state', tab: value.tab, event }
        : undefined;
    }
    case 'points': {
      const lastIds = asLastIds(value.lastIds);
      return lastIds ? { v, t: 'points', lastIds } : undefined;
    }
    case 'refused': {
      if (!isRecord(value.topics)) return undefined;
      const reasons: readonly string[] = ['invalid', 'too_many', 'not_granted'];
      const topics: Record<string, RefusedReason> = {};
      for (const [topic, reason] of Object.entries(value.topics)) {
        if (reasons.includes(reason as string)) topics[topic] = reason as RefusedReason;
      }
      return { v, t: 'refused', topics };
    }
    default:
      return undefined;
  }
}

/** The lock and channel name of connection `name` for this protocol version. */
export function versionedName(name: string): string {
  return `${name}#v${SHARED_PROTOCOL_VERSION}`;
}
