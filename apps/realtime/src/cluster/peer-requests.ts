import { AppError } from '@ovation/shared';
import type { FastifyBaseLogger, FastifyReply, FastifyRequest } from 'fastify';
import { AggregatorRegistry, type Registry } from 'prom-client';
import { Agent, request } from 'undici';
import { z } from 'zod';
import { MetricsJsonSchema } from './messages.js';
import { ClusterPeers } from './peers.js';

/** A forwarded /subscribe may wait for its topics' registration (5 s) and their catch-up. */
const FORWARD_TIMEOUT_MS = 15_000;
const METRICS_TIMEOUT_MS = 2000;

const ConnectionIdSchema = z.object({ connectionId: z.string() });

/*
 * Requests a worker makes to the other workers of its machine, over their internal listeners.
 *
 * Requests about a connection (POST /subscribe, /unsubscribe, /latency) reach the shared port,
 * so any worker may get one; the connection id names the worker that holds the connection:
 *
 *   browser ──POST /subscribe {connectionId: "1-…"}──▶ PORT ──▶ worker 0 (not its owner)
 *                                                                │ the same body to worker 1's
 *                                                                ▼ internal listener
 *           ◀──────────── worker 1's status and body, unchanged ─┘
 *
 * GET /metrics on the shared port sums every worker's registry (prom-client's aggregation).
 */
export class PeerRequests {
  /** One keep-alive pool per peer; a forward costs one loopback round trip. */
  private readonly agent = new Agent({ keepAliveTimeout: 10_000, connections: 16 });

  constructor(
    private readonly peers: ClusterPeers,
    private readonly token: string,
    private readonly log: FastifyBaseLogger,
  ) {}

  /**
   * A route's preHandler: a request naming a connection of another worker is answered by that
   * worker; one of this worker (or malformed: the route says why) goes on here.
   */
  readonly toOwner = async (req: FastifyRequest, reply: FastifyReply): Promise<FastifyReply | undefined> => {
    const body = ConnectionIdSchema.safeParse(req.body);
    if (!body.success) return undefined;
    const owner = ClusterPeers.ownerOf(body.data.connectionId);
    if (owner === undefined || owner === this.peers.index) return undefined;
    const url = this.peers.urlOf(owner);
    // Its worker is gone (and its connections with it), or never was.
    if (!url) throw new AppError('CONNECTION_NOT_FOUND', `no open connection ${body.data.connectionId} here`);
    let response: Awaited<ReturnType<typeof request>>;
    let text: string;
    try {
      response = await request(`${url}${req.url}`, {
        method: 'POST',
        dispatcher: this.agent,
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(req.body),
        headersTimeout: FORWARD_TIMEOUT_MS,
        bodyTimeout: FORWARD_TIMEOUT_MS,
      });
      text = await response.body.text();
    } catch (error) {
      throw new AppError('UNAVAILABLE', 'the worker holding this connection did not answer; retry shortly', {
        cause: error,
      });
    }
    const retryAfter = response.headers['retry-after'];
    if (typeof retryAfter === 'string') reply.header('retry-after', retryAfter);
    reply.code(response.statusCode);
    return text.length > 0 ? reply.type('application/json').send(text) : reply.send();
  };

  /**
   * Prometheus text summed over this worker and every peer that answers in time (a restarting
   * worker is left out: its counters start again from 0 anyway).
   */
  async machineMetrics(own: Registry): Promise<string> {
    const theirs = await Promise.all(this.peers.others().map((url) => this.metricsOf(url)));
    const all = [await own.getMetricsAsJSON(), ...theirs.filter((m) => m !== undefined)];
    return AggregatorRegistry.aggregate(all).metrics();
  }

  private async metricsOf(url: string): Promise<unknown[] | undefined> {
    try {
      const response = await request(`${url}/internal/metrics`, {
        dispatcher: this.agent,
        headers: { authorization: `Bearer ${this.token}` },
        headersTimeout: METRICS_TIMEOUT_MS,
        bodyTimeout: METRICS_TIMEOUT_MS,
      });
      const body: unknown = await response.body.json();
      if (response.statusCode !== 200) throw new Error(`answered ${response.statusCode}`);
      return MetricsJsonSchema.parse(body);
    } catch (error) {
      this.log.warn({ err: (error as Error).message, url }, 'a worker did not give its metrics; left out');
      return undefined;
    }
  }

  async close(): Promise<void> {
    await this.agent.close();
  }
}
