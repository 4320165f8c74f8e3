import { BENCH_TOKEN } from './stack.js';

/** Publishes to a dispatcher's (or the reference's) POST /publish and counts what was accepted. */
export class Publisher {
  comments = 0;
  likes = 0;
  rejected = 0;
  private inFlight = 0;
  private readonly text = 'x'.repeat(120);

  constructor(private readonly url: string) {}

  async post(events: Array<{ topic: string; type: string; data: Record<string, unknown> }>): Promise<boolean> {
    const response = await fetch(`${this.url}/publish`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${BENCH_TOKEN}` },
      body: JSON.stringify({ events }),
    });
    await response.arrayBuffer();
    if (response.status !== 202) {
      this.rejected += events.length;
      return false;
    }
    return true;
  }

  /** `n` comments with consecutive `seq` and the send time, in one request. */
  async publishComments(topic: string, n: number): Promise<void> {
    const first = this.comments;
    this.comments += n;
    const sentAt = Date.now();
    const events = Array.from({ length: n }, (_, i) => ({
      topic,
      type: 'comment',
      data: { seq: first + i, sentAt, text: this.text },
    }));
    if (!(await this.post(events))) throw new Error('a comment publish was refused; seq would have a gap');
  }

  async like(topic: string, count = 1): Promise<void> {
    this.likes += count;
    if (!(await this.post([{ topic, type: 'like', data: { count } }]))) {
      this.likes -= count;
    }
  }

  /**
   * Open loop: publishes `likesPerSecond` like events and `commentsPerSecond` comments, each its
   * own request (as the product's API does), on schedule, for `seconds`. Comments go one at a
   * time in order so `seq` arrives in order.
   */
  async runRates(topic: string, rates: { likesPerSecond: number; commentsPerSecond: number; seconds: number }) {
    const started = performance.now();
    const end = started + rates.seconds * 1000;
    let likesSent = 0;
    let commentsSent = 0;
    let commentChain = Promise.resolve();
    const pending = new Set<Promise<void>>();
    while (performance.now() < end) {
      const elapsed = (performance.now() - started) / 1000;
      while (likesSent < Math.floor(elapsed * rates.likesPerSecond) && this.inFlight < 256) {
        likesSent++;
        this.inFlight++;
        const p = this.like(topic).finally(() => {
          this.inFlight--;
          pending.delete(p);
        });
        pending.add(p);
      }
      while (commentsSent < Math.floor(elapsed * rates.commentsPerSecond)) {
        commentsSent++;
        commentChain = commentChain.then(() => this.publishComments(topic, 1));
      }
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    await Promise.all([...pending, commentChain]);
  }
}
