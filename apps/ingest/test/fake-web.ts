import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  IngestAuthorizeRequestSchema,
  IngestReportSchema,
  type TIngestAuthorizeRequest,
  type TIngestReport,
} from '@ovation/shared';

export const WEB_TOKEN = 'ingest-test-internal-token-0123';

/**
 * The web's two internal ingest routes, as a test needs them: keys it knows (anything else is
 * 403), every request recorded, reports validated with the shared schema (an invalid one is
 * recorded as such and answered 400), and `stop` for the sessions a test names.
 */
export class FakeWeb {
  readonly authorizations: TIngestAuthorizeRequest[] = [];
  readonly reports: TIngestReport[] = [];
  readonly invalid: string[] = [];
  /** Sessions whose reports are answered `{ stop: true }`. */
  readonly stopSessions = new Set<string>();
  /** Set to answer authorize with this instead (status, body). */
  authorizeOverride: { status: number; body: unknown } | undefined;
  private readonly keys = new Map<string, string>();
  private sessionCount = 0;
  private readonly server: Server;

  private constructor() {
    this.server = createServer((request, response) => {
      this.handle(request, response).catch((error: unknown) => {
        this.invalid.push(String(error));
        response.writeHead(500).end();
      });
    });
  }

  static async start(): Promise<FakeWeb> {
    const web = new FakeWeb();
    await new Promise<void>((resolve) => web.server.listen(0, '127.0.0.1', resolve));
    return web;
  }

  get url(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  /** A stream key for `videoId`, in the shared pattern (ovk_ + 43 base64url characters). */
  addKey(videoId: string): string {
    const key = `ovk_${videoId.padEnd(43, 'x').slice(0, 43)}`;
    this.keys.set(key, videoId);
    return key;
  }

  reportsFor(videoId: string, state?: TIngestReport['state']): TIngestReport[] {
    return this.reports.filter((r) => r.videoId === videoId && (state === undefined || r.state === state));
  }

  close(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  private async handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const send = (status: number, body?: unknown) => {
      response.writeHead(status, { 'content-type': 'application/json' });
      response.end(body === undefined ? undefined : JSON.stringify(body));
    };
    if (request.headers.authorization !== `Bearer ${WEB_TOKEN}`) {
      this.invalid.push(`${request.url}: wrong or missing token`);
      return send(401, { error: { code: 'UNAUTHORIZED', message: 'token' } });
    }
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    const json: unknown = JSON.parse(Buffer.concat(chunks).toString('utf8'));

    if (request.method === 'POST' && request.url === '/api/internal/ingest/authorize') {
      const parsed = IngestAuthorizeRequestSchema.safeParse(json);
      if (!parsed.success) {
        this.invalid.push(`authorize: ${parsed.error.message}`);
        return send(400);
      }
      this.authorizations.push(parsed.data);
      if (this.authorizeOverride) return send(this.authorizeOverride.status, this.authorizeOverride.body);
      const videoId = this.keys.get(parsed.data.streamKey);
      if (!videoId) return send(403, { error: { code: 'FORBIDDEN', message: 'unknown stream key' } });
      return send(200, { videoId, sessionId: `s${++this.sessionCount}` });
    }
    if (request.method === 'POST' && request.url === '/api/internal/ingest/report') {
      const parsed = IngestReportSchema.safeParse(json);
      if (!parsed.success) {
        this.invalid.push(`report: ${parsed.error.message}`);
        return send(400);
      }
      this.reports.push(parsed.data);
      return send(200, { stop: this.stopSessions.has(parsed.data.sessionId) });
    }
    send(404);
  }
}
