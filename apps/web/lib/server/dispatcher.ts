import { PublishError, Publisher } from '@ovation/publisher';
import {
  AppError,
  LatencySummarySchema,
  MAX_VIEWER_TOPICS,
  PresenceListSchema,
  PresenceOnlineSchema,
  type TLatencySummary,
  type TPresenceList,
  type TPublishEvent,
  type TViewersResponse,
  ViewersBatchResponseSchema,
  ViewersResponseSchema,
} from '@ovation/shared';
import { tracingOn, withTraceHeaders } from '@ovation/shared/server';
import type { z } from 'zod';

/** A health probe waits this long for a dispatcher's /healthz. */
const HEALTH_TIMEOUT_MS = 500;
/** A read a user waits on (presence) waits this long for each dispatcher before trying the next. */
const READ_TIMEOUT_MS = 1000;

/**
 * Publishes product events (likes, comments, status) to the dispatcher tier through
 * @ovation/publisher, and reads what the tier knows (viewers, latency, health).
 * Every publish carries an Idempotency-Key made from what it publishes: a dispatcher that accepted
 * it but answered too late for us is not made to deliver it twice by the next attempt — nor by a
 * user's retry of the same write, which publishes with the same key.
 */
export class DispatcherClient {
  private current = 0;
  private readonly publisher: Publisher;

  constructor(
    private readonly urls: readonly string[],
    private readonly token: string,
    private readonly healthTimeoutMs = HEALTH_TIMEOUT_MS,
  ) {
    this.publisher = new Publisher({
      urls,
      token,
      // A user waits on this: each dispatcher once, no waiting out a Retry-After (the page retries
      // the write, with the same key, never sooner than the Retry-After the web answers).
      retry: { attempts: urls.length, baseMs: 0, maxMs: 0, maxWaitMs: 0 },
      // Traced: the request's span (Next makes one per request) goes on as `traceparent`.
      fetch: (url, init) =>
        tracingOn() ? fetch(url, { ...init, headers: withTraceHeaders(headersOf(init?.headers)) }) : fetch(url, init),
    });
  }

  async publish(events: TPublishEvent[], options: { idempotencyKey: string }): Promise<string[]> {
    try {
      return await this.publisher.send(events, { idempotencyKey: options.idempotencyKey });
    } catch (error) {
      // One that retrying cannot fix (a refused token, a body the tier refuses): a fault of ours,
      // logged as INTERNAL (500), not a 503 the browser would retry in silence.
      if (error instanceof PublishError && !error.retryable) {
        throw new AppError('INTERNAL', 'internal error', { cause: error });
      }
      throw new AppError('UNAVAILABLE', 'the realtime service is unavailable; try again', { cause: error });
    }
  }

  /**
   * Whether any dispatcher answers its /healthz with 200 quickly; `detail` says why not (without
   * addresses: the web's /healthz is public).
   */
  async health(): Promise<{ ok: boolean; detail?: string }> {
    const probe = async (base: string, i: number) => {
      try {
        const response = await fetch(`${base}/healthz`, { signal: AbortSignal.timeout(this.healthTimeoutMs) });
        await response.arrayBuffer();
        if (response.status !== 200) throw new Error(`answered ${response.status}`);
      } catch (error) {
        throw new Error(`dispatcher ${i + 1}: ${reason(error, this.healthTimeoutMs)}`);
      }
    };
    try {
      await Promise.any(this.urls.map(probe));
      return { ok: true };
    } catch (error) {
      const reasons = error instanceof AggregateError ? error.errors : [error];
      const detail = reasons.map((r) => (r instanceof Error ? r.message : String(r))).join('; ');
      return { ok: false, detail: `no dispatcher is healthy (${detail})` };
    }
  }

  /** Viewers of a topic right now; 0 when the dispatcher cannot say quickly. */
  async viewers(topic: string): Promise<number> {
    return (await this.viewersByRegion(topic)).count;
  }

  /** Viewers of a topic, in total and per region; zero when the dispatcher cannot say quickly. */
  async viewersByRegion(topic: string): Promise<TViewersResponse> {
    const body = await this.get(`/topics/${encodeURIComponent(topic)}/viewers`);
    const parsed = ViewersResponseSchema.safeParse(body);
    return parsed.success ? parsed.data : { count: 0, byRegion: {} };
  }

  /**
   * Viewers of many topics (a page of the video list) in one request per MAX_VIEWER_TOPICS; a
   * topic the dispatcher cannot count quickly reads 0, as with viewers().
   */
  async viewersOf(topics: readonly string[]): Promise<Map<string, number>> {
    const out = new Map<string, number>();
    for (let i = 0; i < topics.length; i += MAX_VIEWER_TOPICS) {
      const chunk = topics.slice(i, i + MAX_VIEWER_TOPICS);
      const parsed = ViewersBatchResponseSchema.safeParse(await this.post('/topics/viewers', { topics: chunk }));
      for (const topic of chunk) out.set(topic, parsed.success ? (parsed.data.counts[topic] ?? 0) : 0);
    }
    return out;
  }

  /** The topic's delivery latency as its viewers measured it; null when unknown. */
  async latency(topic: string): Promise<TLatencySummary | null> {
    const parsed = LatencySummarySchema.safeParse(await this.get(`/topics/${encodeURIComponent(topic)}/latency`));
    return parsed.success ? parsed.data : null;
  }

  /** Who is watching `topic`: one page of its accounts in id order, and the counts. 503 when no dispatcher answers. */
  presence(topic: string, page: { cursor?: string | undefined; limit: number }): Promise<TPresenceList> {
    const query = new URLSearchParams({ limit: String(page.limit), ...(page.cursor ? { cursor: page.cursor } : {}) });
    return this.read(`/topics/${encodeURIComponent(topic)}/presence?${query}`, PresenceListSchema, 'who is watching');
  }

  /**
   * Whether each account is present: on `topic` (there and not yet left), or on any topic. 503 when
   * no dispatcher answers.
   */
  async online(users: readonly string[], topic?: string): Promise<Record<string, boolean>> {
    const query = new URLSearchParams({ users: users.join(','), ...(topic ? { topic } : {}) });
    const answer = await this.read(`/presence/online?${query}`, PresenceOnlineSchema, 'who is online', {
      authorization: `Bearer ${this.token}`,
    });
    return answer.online;
  }

  /**
   * A read that has no answer without the tier (unlike viewers(), which reads 0): each dispatcher
   * once, from the one that answered last; none answering is a 503. A refusal retrying cannot fix
   * (a 4xx: our query or token) is ours: 500.
   */
  private async read<S extends z.ZodType>(
    path: string,
    schema: S,
    what: string,
    headers: Record<string, string> = {},
  ): Promise<z.output<S>> {
    let failure: unknown;
    for (let attempt = 0; attempt < this.urls.length; attempt++) {
      const base = this.urls[this.current % this.urls.length];
      try {
        const response = await fetch(`${base}${path}`, { headers, signal: AbortSignal.timeout(READ_TIMEOUT_MS) });
        const body: unknown = await response.json().catch(() => undefined);
        if (response.status >= 400 && response.status < 500 && response.status !== 429) {
          throw new AppError('INTERNAL', 'internal error', {
            cause: new Error(`dispatcher refused ${path.split('?')[0]}: ${response.status}`),
          });
        }
        if (!response.ok) throw new Error(`answered ${response.status}`);
        const parsed = schema.safeParse(body);
        if (!parsed.success) throw new Error(`answered ${path.split('?')[0]} out of contract`);
        return parsed.data;
      } catch (error) {
        if (error instanceof AppError) throw error;
        failure = error;
        this.current++; // no answer: the next attempt (and the next read) asks another dispatcher
      }
    }
    throw new AppError('UNAVAILABLE', `${what} is unavailable; try again`, { cause: failure, retryAfterSeconds: 1 });
  }

  private async post(path: string, body: unknown): Promise<unknown> {
    const base = this.urls[this.current % this.urls.length];
    try {
      const response = await fetch(`${base}${path}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${this.token}` },
        body: JSON.stringify(body),
        signal: AbortSignal.timeout(500),
      });
      if (response.ok) return await response.json();
      await response.arrayBuffer();
      return undefined;
    } catch {
      this.current++; // no answer: the next read asks another dispatcher
      return undefined;
    }
  }

  private async get(path: string): Promise<unknown> {
    const base = this.urls[this.current % this.urls.length];
    try {
      const response = await fetch(`${base}${path}`, { signal: AbortSignal.timeout(500) });
      if (response.ok) return await response.json();
      await response.arrayBuffer(); // read whole: the connection goes back to the pool
      return undefined;
    } catch {
      this.current++;
      return undefined;
    }
  }
}

function reason(error: unknown, timeoutMs: number): string {
  if (!(error instanceof Error)) return String(error);
  if (error.name === 'TimeoutError') return `no answer within ${timeoutMs} ms`;
  // fetch's TypeError keeps the reason (ECONNREFUSED, …) in its cause.
  const code = (error.cause as { code?: unknown } | undefined)?.code;
  return typeof code === 'string' ? code : error.message;
}

/** A request's headers as a plain object (the publisher passes one; anything else is copied). */
function headersOf(headers: HeadersInit | undefined): Record<string, string> {
  return Object.fromEntries(new Headers(headers).entries());
}
