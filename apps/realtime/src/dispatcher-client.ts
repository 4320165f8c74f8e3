import { Failover } from '@ovation/shared/server';
import { Agent, request } from 'undici';
import type { z } from 'zod';

const REQUEST_TIMEOUT_MS = 2000;

/**
 * Internal calls to the dispatcher tier. Any of DISPATCHER_URLS will do: a call that fails moves
 * on to the next URL (and later calls start there), so a dead dispatcher costs one failed attempt.
 */
export class DispatcherClient {
  private readonly agent = new Agent({ keepAliveTimeout: 30_000, connections: 8 });
  private readonly failover: Failover;

  constructor(
    urls: readonly string[],
    private readonly token: string,
  ) {
    this.failover = new Failover(urls);
  }

  /** POSTs `body` as JSON; resolves with the 200 reply validated by `schema`, or throws. */
  async post<S extends z.ZodType>(path: string, body: unknown, schema: S): Promise<z.infer<S>> {
    const payload = JSON.stringify(body);
    return this.failover.run(async (base) => {
      const response = await request(`${base}${path}`, {
        method: 'POST',
        dispatcher: this.agent,
        headers: { 'content-type': 'application/json', authorization: `Bearer ${this.token}` },
        body: payload,
        headersTimeout: REQUEST_TIMEOUT_MS,
        bodyTimeout: REQUEST_TIMEOUT_MS,
      });
      const reply: unknown = await response.body.json().catch(() => undefined);
      if (response.statusCode !== 200) throw new Error(`${base}${path} answered ${response.statusCode}`);
      return schema.parse(reply);
    });
  }

  async close(): Promise<void> {
    await this.agent.close();
  }
}
