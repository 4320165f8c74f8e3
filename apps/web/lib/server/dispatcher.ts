import {
  AppError,
  LatencySummarySchema,
  PublishResponseSchema,
  type TLatencySummary,
  type TPublishEvent,
  type TViewersResponse,
  ViewersResponseSchema,
} from '@ovation/shared';

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
    return (await this.viewersByRegion(topic)).count;
  }

  /** Viewers of a topic, in total and per region; zero when the dispatcher cannot say quickly. */
  async viewersByRegion(topic: string): Promise<TViewersResponse> {
    const body = await this.get(`/topics/${encodeURIComponent(topic)}/viewers`);
    const parsed = ViewersResponseSchema.safeParse(body);
    return parsed.success ? parsed.data : { count: 0, byRegion: {} };
  }

  /** The topic's delivery latency as its viewers measured it; null when unknown. */
  async latency(topic: string): Promise<TLatencySummary | null> {
    const parsed = LatencySummarySchema.safeParse(await this.get(`/topics/${encodeURIComponent(topic)}/latency`));
    return parsed.success ? parsed.data : null;
  }

  private async get(path: string): Promise<unknown> {
    const base = this.urls[this.current % this.urls.length];
    try {
      const response = await fetch(`${base}${path}`, { signal: AbortSignal.timeout(500) });
      return response.ok ? await response.json() : undefined;
    } catch {
      return undefined;
    }
  }
}
