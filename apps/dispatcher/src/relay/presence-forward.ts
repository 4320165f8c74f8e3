import { MAX_REGION_PRESENCE_MEMBERS, type TNodeTopicPresence, type TRegionPresence } from '@ovation/shared';
import type { FastifyBaseLogger } from 'fastify';

/*
 * Presence across regions: every node report a dispatcher here takes goes, in order, to every
 * peer region too (POST /internal/region-presence; one forwarder, queue and sender per peer, so a
 * peer that does not answer holds back no other), whose store then holds this region's viewers
 * as its own — so each region's presence duty settles every region's viewers, and its viewers see
 * global joins, leaves and counts. A viewer who moves from one region to another within the grace
 * refreshes both stores, like one who changes nodes.
 *
 * Best effort, as heartbeats are: a report a peer does not take is dropped — the nodes send every
 * member again every refreshMs, and a departure it missed expires there a TTL later. A peer that
 * is away longer sees this region's viewers leave, and come back once it is reachable. What waits
 * is bounded (MAX_PENDING_MEMBERS: the oldest reports go first).
 */

/** Members waiting for the peers at most (a refresh of 100,000 viewers is 100,000). */
const MAX_PENDING_MEMBERS = 400_000;

export class PresenceForwarder {
  private pending: { topics: Record<string, TNodeTopicPresence>; members: number }[] = [];
  private pendingMembers = 0;
  private timer: NodeJS.Timeout | undefined;
  private sending = false;

  constructor(
    private readonly deps: {
      region: string;
      /** Sends one message to the peer (rejects when it did not take it). */
      push: (message: TRegionPresence) => Promise<void>;
      intervalMs: number;
      log: FastifyBaseLogger;
    },
  ) {}

  /** A node report this region's store took. */
  add(topics: Readonly<Record<string, TNodeTopicPresence>>): void {
    const members = Object.values(topics).reduce((n, t) => n + t.present.length + t.gone.length, 0);
    if (members === 0) return;
    this.pending.push({ topics: { ...topics }, members });
    this.pendingMembers += members;
    while (this.pendingMembers > MAX_PENDING_MEMBERS && this.pending.length > 1) {
      this.pendingMembers -= this.pending.shift()?.members ?? 0;
    }
  }

  start(): void {
    this.timer = setInterval(() => void this.flush(), this.deps.intervalMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  /** Sends what waits, in messages of at most MAX_REGION_PRESENCE_MEMBERS members (exposed for tests). */
  async flush(): Promise<void> {
    if (this.sending) return;
    this.sending = true;
    try {
      while (this.pending.length > 0) {
        const reports: Record<string, TNodeTopicPresence>[] = [];
        let members = 0;
        while (this.pending.length > 0 && reports.length < 1000) {
          const next = this.pending[0] as { topics: Record<string, TNodeTopicPresence>; members: number };
          // A node report holds at most 5,000 members: one always fits an empty message.
          if (reports.length > 0 && members + next.members > MAX_REGION_PRESENCE_MEMBERS) break;
          this.pending.shift();
          this.pendingMembers -= next.members;
          reports.push(next.topics);
          members += next.members;
        }
        await this.deps.push({ region: this.deps.region, reports }).catch((error: unknown) => {
          this.deps.log.debug({ err: error }, 'presence not taken by the peer region');
        });
      }
    } finally {
      this.sending = false;
    }
  }
}
