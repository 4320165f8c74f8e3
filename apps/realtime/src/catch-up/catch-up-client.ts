import { CatchUpResponseSchema, type TCatchUpRequest, type TTopicCatchUp } from '@ovation/shared';
import type { DispatcherClient } from '../dispatcher-client.js';

/** Topics per POST /internal/catch-up (the dispatcher's limit). */
const MAX_TOPICS_PER_REQUEST = 1000;
/**
 * Requests of one round in flight at once: a node that reads 100,000 topics (a store that lost its
 * data) must not queue a hundred reads ahead of its own heartbeat at the dispatcher.
 */
const MAX_IN_FLIGHT = 2;

interface Waiter {
  resolve: (results: ReadonlyMap<string, TTopicCatchUp>) => void;
  reject: (error: unknown) => void;
}

/**
 * Asks the dispatcher tier for topics' catch-up (snapshot + history after a position), in rounds:
 * everything asked while a round is in flight goes in the next one, each topic once, with the
 * lowest position any asker needs. So a thousand viewers arriving at once after a node failure
 * cost a few requests, not a thousand.
 *
 * A round starts after every request in it was made, and a request is made only once its
 * connection has joined the topics: the read is never older than the live stream it meets.
 */
export class CatchUpClient {
  /** Topic → lowest position asked for, and the epochs asked for (null: any). */
  private pending = new Map<string, { from: number | undefined; epochs: Set<string> | null }>();
  private waiters: Waiter[] = [];
  private running = false;
  /** Rounds sent so far (metrics, tests). */
  rounds = 0;

  constructor(private readonly client: DispatcherClient) {}

  /**
   * Catch-up of each topic, with history after `from` when given — only for logs of one of
   * `epochs` when those are given (a resume id of another epoch cannot match). Rejects when the
   * dispatcher tier is unreachable.
   */
  fetch(
    topics: readonly string[],
    from: number | undefined,
    epochs?: readonly string[],
  ): Promise<ReadonlyMap<string, TTopicCatchUp>> {
    for (const topic of topics) {
      const asked = this.pending.get(topic);
      if (!asked) {
        this.pending.set(topic, { from, epochs: from === undefined || !epochs ? null : new Set(epochs) });
        continue;
      }
      if (from === undefined) continue;
      asked.from = asked.from === undefined ? from : Math.min(asked.from, from);
      if (!epochs) asked.epochs = null;
      else if (asked.epochs) for (const e of epochs) asked.epochs.add(e);
    }
    const done = new Promise<ReadonlyMap<string, TTopicCatchUp>>((resolve, reject) =>
      this.waiters.push({ resolve, reject }),
    );
    this.kick();
    return done;
  }

  private kick(): void {
    if (this.running || this.waiters.length === 0) return;
    this.running = true;
    setImmediate(() => void this.round());
  }

  private async round(): Promise<void> {
    const pending = this.pending;
    const waiters = this.waiters;
    this.pending = new Map();
    this.waiters = [];
    this.rounds++;
    try {
      const asks: TCatchUpRequest['topics'] = [...pending].map(([topic, { from, epochs }]) =>
        from === undefined ? { topic } : { topic, from, ...(epochs ? { epochs: [...epochs].slice(0, 64) } : {}) },
      );
      const results = new Map<string, TTopicCatchUp>();
      const bodies: TCatchUpRequest[] = [];
      for (let i = 0; i < asks.length; i += MAX_TOPICS_PER_REQUEST) {
        bodies.push({ topics: asks.slice(i, i + MAX_TOPICS_PER_REQUEST) });
      }
      let next = 0;
      const worker = async () => {
        while (next < bodies.length) {
          const body = bodies[next++] as TCatchUpRequest;
          const reply = await this.client.post('/internal/catch-up', body, CatchUpResponseSchema);
          for (const result of reply.topics) results.set(result.topic, result);
        }
      };
      await Promise.all(Array.from({ length: Math.min(MAX_IN_FLIGHT, bodies.length) }, worker));
      for (const waiter of waiters) waiter.resolve(results);
    } catch (error) {
      for (const waiter of waiters) waiter.reject(error);
    } finally {
      this.running = false;
      this.kick();
    }
  }
}
