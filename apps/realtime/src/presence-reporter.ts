import {
  MAX_PRESENCE_MEMBERS_PER_MESSAGE,
  PresenceAckSchema,
  type TNodePresence,
  type TNodeTopicPresence,
} from '@ovation/shared';
import type { FastifyBaseLogger } from 'fastify';
import type { MemberListener } from './connections/topic-table.js';
import type { DispatcherClient } from './dispatcher-client.js';

/*
 * The node's side of presence (packages/shared/src/presence.ts): which named viewers have a
 * connection here, per topic, told to the dispatcher tier every PRESENCE_FLUSH_MS —
 *
 *   a viewer's first connection on a topic opened  → `present` (a heartbeat: the store adds them)
 *   their last one closed                          → `gone` (their heartbeat expires now; the
 *                                                    delayed check marks them left after the
 *                                                    grace unless a connection, here or on any
 *                                                    node, refreshes it before)
 *   every `refreshMs` (the tier's ack says)        → every member again, `present`
 *
 * A viewer who closes and reopens between two flushes nets out: nothing is sent. Messages name at
 * most MAX_PRESENCE_MEMBERS_PER_MESSAGE members; what a failed message carried is sent again.
 */

/** Before the first ack: refresh every 5 s (the dispatcher's default, a third of the 15 s TTL). */
const DEFAULT_REFRESH_MS = 5000;

export class PresenceReporter implements MemberListener {
  /** Topic → members with a connection here → their name (none: a guest). */
  private readonly members = new Map<string, Map<string, string | undefined>>();
  /** Topic → members to announce (`present`) and members gone, since the last flush. */
  private readonly arrived = new Map<string, Set<string>>();
  private readonly departed = new Map<string, Set<string>>();
  private refreshMs = DEFAULT_REFRESH_MS;
  private lastRefreshAt = 0;
  private timer: NodeJS.Timeout | undefined;
  private flushing: Promise<void> | undefined;
  /** Failing since the last message the tier took: logged once per outage. */
  private failing = false;

  constructor(
    private readonly deps: {
      client: DispatcherClient;
      nodeId: string;
      /** Whether a topic's viewers are reported (PRESENCE_TOPICS). */
      reports: (topic: string) => boolean;
      flushMs: number;
      log: FastifyBaseLogger;
    },
  ) {}

  joined(topic: string, viewerId: string, name: string | undefined): void {
    if (!this.deps.reports(topic)) return;
    let members = this.members.get(topic);
    if (!members) {
      members = new Map();
      this.members.set(topic, members);
    }
    members.set(viewerId, name);
    if (!this.departed.get(topic)?.delete(viewerId)) add(this.arrived, topic, viewerId);
  }

  left(topic: string, viewerId: string): void {
    const members = this.members.get(topic);
    if (!members?.delete(viewerId)) return;
    if (members.size === 0) this.members.delete(topic);
    if (!this.arrived.get(topic)?.delete(viewerId)) add(this.departed, topic, viewerId);
  }

  start(): void {
    this.timer = setInterval(() => void this.flush(), this.deps.flushMs);
    this.timer.unref();
  }

  /** Stops, after telling the tier that this node's viewers are gone (a drain has closed them all). */
  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.flushing;
    await this.flush();
  }

  /** One flush (exposed for tests): what changed, and every member when a refresh is due. */
  flush(): Promise<void> {
    this.flushing ??= this.send().finally(() => {
      this.flushing = undefined;
    });
    return this.flushing;
  }

  private async send(): Promise<void> {
    // Refreshes go out on flushes: one flush early rather than late, so that two are never more
    // than refreshMs apart (the tier counts on it to refresh within the grace).
    const refresh = Date.now() - this.lastRefreshAt >= this.refreshMs - this.deps.flushMs;
    const startedAt = Date.now();
    const arrived = takeAll(this.arrived);
    const departed = takeAll(this.departed);
    // Present: the arrivals, or everyone on a refresh; either way as the table is now.
    const present = refresh ? new Map([...this.members].map(([t, m]) => [t, new Set(m.keys())])) : arrived;
    const messages = this.messages(present, departed);
    for (const [i, topics] of messages.entries()) {
      const body: TNodePresence = { nodeId: this.deps.nodeId, topics };
      try {
        const ack = await this.deps.client.post('/internal/nodes/presence', body, PresenceAckSchema);
        this.refreshMs = ack.refreshMs;
        this.failing = false;
      } catch (error) {
        if (!this.failing) {
          this.deps.log.warn({ err: (error as Error).message }, 'presence not taken by the dispatcher tier; retrying');
        }
        this.failing = true;
        // What this and the later messages carried goes again (as the table is then).
        for (const rest of messages.slice(i)) this.restore(rest);
        return;
      }
    }
    if (refresh) this.lastRefreshAt = startedAt;
  }

  /** Per-topic present and gone, cut into messages of at most MAX_PRESENCE_MEMBERS_PER_MESSAGE members. */
  private messages(
    present: ReadonlyMap<string, ReadonlySet<string>>,
    departed: ReadonlyMap<string, ReadonlySet<string>>,
  ): Record<string, TNodeTopicPresence>[] {
    const messages: Record<string, TNodeTopicPresence>[] = [];
    let current: Record<string, TNodeTopicPresence> = {};
    let size = 0;
    const entry = (topic: string): TNodeTopicPresence => {
      if (size >= MAX_PRESENCE_MEMBERS_PER_MESSAGE) {
        messages.push(current);
        current = {};
        size = 0;
      }
      current[topic] ??= { present: [], gone: [] };
      return current[topic];
    };
    for (const [topic, ids] of present) {
      const members = this.members.get(topic);
      for (const id of ids) {
        // Still here (an arrival that left again before the flush was netted out already).
        if (!members?.has(id)) continue;
        const name = members.get(id);
        entry(topic).present.push(name === undefined ? { id } : { id, name });
        size++;
      }
    }
    for (const [topic, ids] of departed) {
      for (const id of ids) {
        if (this.members.get(topic)?.has(id)) continue;
        entry(topic).gone.push(id);
        size++;
      }
    }
    if (size > 0) messages.push(current);
    return messages;
  }

  /** A message that was not taken: its members are announced again, or gone again, as they are now. */
  private restore(topics: Record<string, TNodeTopicPresence>): void {
    for (const [topic, { present, gone }] of Object.entries(topics)) {
      for (const { id } of present) if (this.members.get(topic)?.has(id)) add(this.arrived, topic, id);
      for (const id of gone) if (!this.members.get(topic)?.has(id)) add(this.departed, topic, id);
    }
  }
}

function add(map: Map<string, Set<string>>, topic: string, id: string): void {
  let set = map.get(topic);
  if (!set) {
    set = new Set();
    map.set(topic, set);
  }
  set.add(id);
}

function takeAll(map: Map<string, Set<string>>): Map<string, Set<string>> {
  const taken = new Map(map);
  map.clear();
  return taken;
}
