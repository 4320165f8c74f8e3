import { randomUUID } from 'node:crypto';
import { REACTIONS } from '@ovation/shared';
import { signUpOverHttp } from '@ovation/shared/software-passkey';
import { sleep } from './processes.js';
import type { Random } from './random.js';

/*
 * Continuous publishing, as a product backend would do it: each publisher is one sequential
 * stream (a request is sent again — same Idempotency-Key — until it gets its answer, then the
 * next one goes), so what a viewer receives from one publisher must come in that order. Every
 * event carries a unique `seq` (web comments: their id) by which the checker finds it.
 */

export interface Accepted {
  /** The key the checker matches received events by (see `eventKey`). */
  key: string;
  topic: string;
  type: string;
  /** Likes: how many. */
  count: number;
  /** Likes: how many of each reaction (summing to `count`). */
  reactions?: Record<string, number>;
  /** The region that accepted it first. */
  region: string;
  publisher: string;
  /** Its place in its publisher's stream. */
  n: number;
  sentAt: number;
  ackAt: number;
  web: boolean;
}

/** What identifies a received event: its `seq`, or for web comments and deletes the comment id. */
export function eventKey(type: string, data: Record<string, unknown>): string | undefined {
  if (typeof data.seq === 'string') return `seq:${data.seq}`;
  if (type === 'comment' && typeof data.id === 'string') return `comment:${data.id}`;
  if (type === 'comment_deleted' && typeof data.id === 'string') return `deleted:${data.id}`;
  return undefined;
}

export interface PublishLog {
  accepted: Accepted[];
  /** Requests sent again after a failure (the same key). */
  retries: number;
  requests: number;
}

const ATTEMPT_TIMEOUT_MS = 2000;

/** Publishes straight to a region's dispatchers (both, alternately) on the suite's own topics. */
export class DirectPublisher {
  private n = 0;
  private running = false;
  private loop: Promise<void> | undefined;
  private comments: string[] = [];

  constructor(
    readonly name: string,
    private readonly region: string,
    private readonly dispatcherUrls: readonly string[],
    private readonly topics: readonly string[],
    private readonly token: string,
    private readonly random: Random,
    private readonly log: PublishLog,
    private readonly pauseMs: number,
  ) {}

  start(): void {
    this.running = true;
    this.loop = (async () => {
      while (this.running) {
        await this.publishOne();
        await sleep(this.random.int(this.pauseMs / 2, this.pauseMs * 1.5));
      }
    })();
  }

  /** Stops after the request in flight has its answer. */
  async stop(): Promise<void> {
    this.running = false;
    await this.loop;
  }

  /** One comment per topic with a known seq (the end-of-run marker). */
  async marker(seq: string): Promise<void> {
    const events = this.topics.map((topic) => ({
      topic,
      type: 'comment',
      data: { seq: `${seq}:${topic}`, marker: true },
    }));
    await this.send(events, `${this.name}-${seq}`);
  }

  private async publishOne(): Promise<void> {
    const topic = this.random.pick(this.topics);
    const size = this.random.weighted([
      [1, 6],
      [2, 2],
      [4, 1],
    ] as const);
    const events = Array.from({ length: size }, () => this.event(topic));
    await this.send(events, `${this.name}-${this.n}`);
  }

  private event(topic: string): { topic: string; type: string; data: Record<string, unknown> } {
    const seq = `${this.name}-${this.n++}`;
    const kind = this.random.weighted([
      ['comment', 55],
      ['like', 30],
      ['comment_deleted', 8],
      ['status', 7],
    ] as const);
    if (kind === 'like') {
      // Split across reactions at random (some batches name none: all `like`, as older publishers).
      const count = this.random.int(1, 3);
      if (this.random.int(1, 4) === 1) return { topic, type: 'like', data: { count, seq } };
      const byReaction: Record<string, number> = {};
      for (let i = 0; i < count; i++) {
        const reaction = this.random.pick(REACTIONS);
        byReaction[reaction] = (byReaction[reaction] ?? 0) + 1;
      }
      return { topic, type: 'like', data: { count, byReaction, seq } };
    }
    if (kind === 'comment_deleted' && this.comments.length > 0) {
      return { topic, type: 'comment_deleted', data: { id: this.random.pick(this.comments), seq } };
    }
    if (kind === 'status') return { topic, type: 'status', data: { status: this.random.pick(['live', 'ended']), seq } };
    this.comments.push(seq);
    if (this.comments.length > 200) this.comments.shift();
    return { topic, type: 'comment', data: { text: `comment ${seq}`, seq } };
  }

  /** Sends until a 202 (alternating dispatchers, the same key); records the events accepted. */
  private async send(events: Array<{ topic: string; type: string; data: Record<string, unknown> }>, key: string) {
    const sentAt = Date.now();
    this.log.requests++;
    for (let attempt = 0; ; attempt++) {
      if (attempt > 0) {
        this.log.retries++;
        await sleep(Math.min(2000, 50 * 2 ** Math.min(attempt, 6)));
      }
      const url = this.dispatcherUrls[attempt % this.dispatcherUrls.length] as string;
      try {
        const response = await fetch(`${url}/publish`, {
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            authorization: `Bearer ${this.token}`,
            'idempotency-key': key,
          },
          body: JSON.stringify({ events }),
          signal: AbortSignal.timeout(ATTEMPT_TIMEOUT_MS),
        });
        await response.arrayBuffer(); // read whole (a cancel can race the socket closing in Node 20's fetch)
        if (response.status === 202) break;
        if (response.status >= 400 && response.status < 500 && response.status !== 429) {
          throw new Error(`${url}/publish answered ${response.status}: a bug in the suite or the contract`);
        }
      } catch (error) {
        if (error instanceof Error && error.message.includes('a bug in the suite')) throw error;
      }
    }
    const ackAt = Date.now();
    events.forEach((event) => {
      this.log.accepted.push({
        key: `seq:${event.data.seq as string}`,
        topic: event.topic,
        type: event.type,
        count: event.type === 'like' ? (event.data.count as number) : 0,
        ...(event.type === 'like'
          ? { reactions: (event.data.byReaction as Record<string, number>) ?? { like: event.data.count as number } }
          : {}),
        region: this.region,
        publisher: this.name,
        n: Number(String(event.data.seq).split('-').at(-1)),
        sentAt,
        ackAt,
        web: false,
      });
    });
  }
}

/**
 * A signed-in user of the web app: comments and likes on the web videos; the owner (an account:
 * only accounts create videos) deletes and ends/starts. A fan may stay a guest.
 */
export class WebPublisher {
  private n = 0;
  private running = false;
  private loop: Promise<void> | undefined;
  private cookie = '';
  private ownComments: Array<{ video: string; id: string }> = [];

  constructor(
    readonly name: string,
    private readonly webUrl: string,
    private readonly region: string,
    private readonly random: Random,
    private readonly log: PublishLog,
    private readonly pauseMs: number,
  ) {}

  get sessionCookie(): string {
    return this.cookie;
  }

  /** Signs in as a guest (a session cookie). */
  async signIn(): Promise<void> {
    const response = await this.request('POST', '/api/session', { name: this.name }, undefined);
    this.cookie = (response.headers.get('set-cookie') ?? '').split(';')[0] ?? '';
  }

  /**
   * Signs up: an account with a software passkey (its session cookie), as a broadcaster must be
   * to create videos. Before any fault is injected: not retried.
   */
  async signUp(): Promise<void> {
    this.cookie = (await signUpOverHttp(this.webUrl, this.name)).cookie;
  }

  /** Creates and starts a live video; its id. */
  async createLiveVideo(title: string): Promise<string> {
    const created = await this.request('POST', '/api/videos', { title }, undefined);
    const { video } = created.body as { video: { id: string } };
    await this.request('POST', `/api/videos/${video.id}/start`, {}, `${this.name}-start-${video.id}`);
    return video.id;
  }

  /** Publishes on `videos` (read at each request: a video that ended is taken out of it). */
  start(videos: readonly string[], owner: boolean): void {
    this.running = true;
    this.loop = (async () => {
      while (this.running) {
        await this.publishOne(videos, owner);
        await sleep(this.random.int(this.pauseMs / 2, this.pauseMs * 1.5));
      }
    })();
  }

  async stop(): Promise<void> {
    this.running = false;
    await this.loop;
  }

  private async publishOne(videos: readonly string[], owner: boolean): Promise<void> {
    const video = this.random.pick(videos);
    const topic = `video:${video}`;
    const key = `${this.name}-${this.n}`;
    const n = this.n++;
    const kind = this.random.weighted([
      ['comment', 55],
      ['like', 35],
      ['delete', owner ? 7 : 0],
    ] as const);
    const sentAt = Date.now();
    const record = (entry: Pick<Accepted, 'key' | 'type' | 'count' | 'reactions'>) =>
      this.log.accepted.push({
        ...entry,
        topic,
        region: this.region,
        publisher: this.name,
        n,
        sentAt,
        ackAt: Date.now(),
        web: true,
      });
    if (kind === 'comment') {
      const response = await this.request('POST', `/api/videos/${video}/comments`, { text: `web ${key}` }, key);
      if (response.status !== 201) return; // the video had ended: not accepted
      const { comment } = response.body as { comment: { id: string } };
      if (owner) this.ownComments.push({ video, id: comment.id });
      record({ key: `comment:${comment.id}`, type: 'comment', count: 0 });
    } else if (kind === 'like') {
      const count = this.random.int(1, 5);
      const reaction = this.random.pick(REACTIONS);
      const response = await this.request('POST', `/api/videos/${video}/likes`, { count, reaction }, key);
      if (response.status === 202)
        record({ key: `like:${key}`, type: 'like', count, reactions: { [reaction]: count } });
    } else {
      const target = this.ownComments.shift();
      if (!target) return;
      const response = await this.request(
        'DELETE',
        `/api/videos/${target.video}/comments/${target.id}`,
        undefined,
        key,
      );
      if (response.status < 300) {
        this.log.accepted.push({
          key: `deleted:${target.id}`,
          topic: `video:${target.video}`,
          type: 'comment_deleted',
          count: 0,
          region: this.region,
          publisher: this.name,
          n,
          sentAt,
          ackAt: Date.now(),
          web: true,
        });
      }
    }
  }

  /** The broadcaster ends a video (a status change through the web app); true once it answered. */
  async endVideo(video: string): Promise<boolean> {
    const response = await this.request('POST', `/api/videos/${video}/end`, {}, `${this.name}-end-${video}`);
    return response.status < 300;
  }

  /**
   * One web write, sent again with the same Idempotency-Key until it has a final answer: 2xx, or
   * a 4xx other than 429 (throttled: waits and sends again).
   */
  private async request(method: string, path: string, body: unknown, key: string | undefined): Promise<WebAnswer> {
    this.log.requests++;
    for (let attempt = 0; ; attempt++) {
      if (attempt > 0) {
        this.log.retries++;
        await sleep(Math.min(2000, 50 * 2 ** Math.min(attempt, 6)));
      }
      try {
        const response = await fetch(`${this.webUrl}${path}`, {
          method,
          headers: {
            'content-type': 'application/json',
            origin: this.webUrl,
            ...(this.cookie ? { cookie: this.cookie } : {}),
            ...(key ? { 'idempotency-key': key } : {}),
          },
          ...(body === undefined ? {} : { body: JSON.stringify(body) }),
          signal: AbortSignal.timeout(ATTEMPT_TIMEOUT_MS * 2),
        });
        // The whole answer, read here: one cut off mid-way (the web process died) is no answer.
        const text = await response.text();
        if (response.status < 400 || (response.status < 500 && response.status !== 429)) {
          return { status: response.status, headers: response.headers, body: text ? JSON.parse(text) : undefined };
        }
      } catch {
        // Not answered (the web tier is down, stopped or slow): the same request again.
      }
    }
  }
}

/** A final answer of the web app, read whole. */
interface WebAnswer {
  status: number;
  headers: Headers;
  body: unknown;
}

export function newPublishLog(): PublishLog {
  return { accepted: [], retries: 0, requests: 0 };
}

export const uniqueRunId = () => randomUUID().slice(0, 8);
