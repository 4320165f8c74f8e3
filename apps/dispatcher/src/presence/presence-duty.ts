import { randomTag, type TPresencePayload, type TPublishEvent } from '@ovation/shared';
import type { FastifyBaseLogger } from 'fastify';
import type { Publisher } from '../fanout/publisher.js';
import { PeriodicDuty } from '../periodic-duty.js';
import type { DutyElection } from '../registry/registry.js';
import type { PresenceChange, PresenceStore } from './presence-store.js';

/*
 * Every interval, the dispatcher holding the region's `presence` duty settles the topics that are
 * due (presence-store.ts) and publishes one `presence` event per topic that changed: so a topic
 * gets at most one such event per interval, whatever its number of viewers, and its names are
 * bounded (MAX_PRESENCE_NAMES per list). Each change is published under its own idempotency key
 * and forgotten only once accepted: a holder that dies in between leaves it to the next one, whose
 * publish the topic log recognises — joined and left reach the viewers exactly once.
 */

/** Topics settled per round (the rest wait for the next). */
const TOPICS_PER_ROUND = 5000;
/** Settles in flight at once. */
const CONCURRENCY = 32;
/** Events per publish call. */
const PUBLISH_BATCH = 1000;

export class PresenceDuty extends PeriodicDuty {
  constructor(
    private readonly deps: {
      store: PresenceStore;
      duties: DutyElection;
      publisher: Publisher;
      holderId: string;
      intervalMs: number;
      log: FastifyBaseLogger;
    },
  ) {
    super({ name: 'presence', holderId: deps.holderId, intervalMs: deps.intervalMs, duties: deps.duties });
  }

  protected async round(): Promise<void> {
    try {
      const { store, duties, holderId, intervalMs } = this.deps;
      if (!(await duties.claimDuty('presence', holderId, intervalMs * 3))) return;
      const topics = await store.dueTopics(TOPICS_PER_ROUND);
      const changes: Settled[] = [];
      for (let i = 0; i < topics.length; i += CONCURRENCY) {
        // A topic whose settle fails (its shard out of reach) waits for the next round, alone.
        const settled = await Promise.allSettled(
          topics
            .slice(i, i + CONCURRENCY)
            .map(async (topic) => ({ topic, change: await store.settle(topic, randomTag(12)) })),
        );
        for (const outcome of settled) {
          if (outcome.status === 'fulfilled' && outcome.value.change) changes.push(outcome.value as Settled);
        }
      }
      for (let i = 0; i < changes.length; i += PUBLISH_BATCH) {
        const accepted = await this.publish(changes.slice(i, i + PUBLISH_BATCH));
        for (let k = 0; k < accepted.length; k += CONCURRENCY) {
          await Promise.all(
            accepted.slice(k, k + CONCURRENCY).map(({ topic, change }) => store.published(topic, change.seq)),
          );
        }
      }
    } catch (error) {
      this.deps.log.warn({ err: error }, 'presence round failed');
    }
  }

  /**
   * Publishes a batch of changes; the ones accepted. A batch refused whole (one topic's node backed
   * up, one shard unreachable) is published topic by topic, so that one stuck topic holds back no
   * other (its change waits in the store for the next round).
   */
  private async publish(batch: readonly Settled[]): Promise<Settled[]> {
    const { publisher, log } = this.deps;
    try {
      await publisher.publish(batch.map(({ topic, change }) => presenceEvent(topic, change)));
      return [...batch];
    } catch (error) {
      if (batch.length === 1) return [];
      log.debug({ err: error }, 'presence batch refused; publishing topic by topic');
    }
    const accepted: Settled[] = [];
    for (let k = 0; k < batch.length; k += CONCURRENCY) {
      const part = batch.slice(k, k + CONCURRENCY);
      const outcomes = await Promise.allSettled(
        part.map(({ topic, change }) => publisher.publish([presenceEvent(topic, change)])),
      );
      outcomes.forEach((outcome, j) => {
        if (outcome.status === 'fulfilled') accepted.push(part[j] as Settled);
      });
    }
    return accepted;
  }
}

interface Settled {
  topic: string;
  change: PresenceChange;
}

/** The `presence` event of a change, under the change's own key. */
export function presenceEvent(topic: string, change: PresenceChange): TPublishEvent {
  const data: TPresencePayload = {
    joined: change.joined,
    left: change.left,
    count: change.count,
    guests: change.guests,
    ...(change.more.joined + change.more.left > 0 ? { more: change.more } : {}),
  };
  return { topic, type: 'presence', data, key: `presence:${change.seq}` };
}
