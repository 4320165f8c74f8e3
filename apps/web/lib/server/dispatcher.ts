import { AppError, PublishResponseSchema, type TPublishEvent } from '@ovation/shared';

const TIMEOUT_MS = 2000;

/** Publishes product events (likes, comments, status) to the dispatcher tier, trying each URL in turn. */
export class DispatcherClient {
  private current = 0;

  constructor(
    private readonly urls: readonly string[],
    private readonly token: string,
  ) {}

  async publish(events: TPublishEvent[]): Promise<string[]> {
    let lastError: unknown;
    for (let attempt = 0; attempt < this.urls.length; attempt++) {
      const base = this.urls[this.current % this.urls.length];
      try {
        const response = await fetch(`${base}/publish`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${this.token}` },
          body: JSON.stringify({ events }),
          signal: AbortSignal.timeout(TIMEOUT_MS),
        });
        if (response.status === 202) return PublishResponseSchema.parse(await response.json()).ids;
        lastError = new Error(`dispatcher answered ${response.status}`);
      } catch (error) {
        lastError = error;
      }
      this.current++;
    }
    throw new AppError('UNAVAILABLE', 'the realtime service is unavailable; try again', { cause: lastError });
  }

  /** Viewers of a topic right now; 0 when the dispatcher cannot say quickly. */
  async viewers(topic: string): Promise<number> {
    const base = this.urls[this.current % this.urls.length];
    try {
      const response = await fetch(`${base}/topics/${encodeURIComponent(topic)}/viewers`, {
        signal: AbortSignal.timeout(500),
      });
      if (!response.ok) return 0;
      const body = (await response.json()) as { count?: unknown };
      return typeof body.count === 'number' ? body.count : 0;
    } catch {
      return 0;
    }
  }
}
