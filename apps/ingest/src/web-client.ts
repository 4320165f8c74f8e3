import {
  IngestAuthorizeResponseSchema,
  IngestReportResponseSchema,
  IngestReportSchema,
  type TIngestAuthorizeRequest,
  type TIngestAuthorizeResponse,
  type TIngestReport,
  type TIngestReportResponse,
} from '@ovation/shared';
import type { z } from 'zod';

/*
 * The web's internal ingest routes (Bearer INTERNAL_TOKEN):
 *
 *   ingest ── POST /api/internal/ingest/authorize {streamKey, address} ──▶ web
 *          ◀── 200 {videoId, sessionId} | 403 (refused) | anything else (refused too: logged)
 *   ingest ── POST /api/internal/ingest/report {videoId, sessionId, state, …} ──▶ web
 *          ◀── 200 {stop}  (stop: the key was rotated or the video ended)
 *
 * Every answer is validated with the shared schemas, read up to MAX_ANSWER_BYTES only.
 */

const TIMEOUT_MS = 3000;
const MAX_ANSWER_BYTES = 64 * 1024;

export type Authorization = ({ ok: true } & TIngestAuthorizeResponse) | { ok: false; refused: boolean; detail: string };

export class WebClient {
  constructor(
    private readonly baseUrl: string,
    private readonly token: string,
  ) {}

  /** Whether a key may publish. Never throws: a web that cannot answer refuses (`refused: false`). */
  async authorize(request: TIngestAuthorizeRequest): Promise<Authorization> {
    try {
      const response = await this.post('/api/internal/ingest/authorize', request);
      if (response.status === 403) {
        await response.body?.cancel();
        return { ok: false, refused: true, detail: 'refused by the web' };
      }
      const answer = await this.answer(response, IngestAuthorizeResponseSchema);
      return { ok: true, ...answer };
    } catch (error) {
      return { ok: false, refused: false, detail: error instanceof Error ? error.message : String(error) };
    }
  }

  /** Sends a report (validated first); resolves with the web's answer, or throws. */
  async report(report: TIngestReport): Promise<TIngestReportResponse> {
    const body = IngestReportSchema.parse(report);
    return this.answer(await this.post('/api/internal/ingest/report', body), IngestReportResponseSchema);
  }

  private post(path: string, body: unknown): Promise<Response> {
    return fetch(`${this.baseUrl}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${this.token}` },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(TIMEOUT_MS),
    });
  }

  private async answer<S extends z.ZodType>(response: Response, schema: S): Promise<z.output<S>> {
    const text = await readBounded(response);
    if (response.status !== 200) throw new Error(`${response.url} answered ${response.status}`);
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      throw new Error(`${response.url} answered 200 with a body that is not JSON`);
    }
    const parsed = schema.safeParse(json);
    if (!parsed.success) {
      throw new Error(`${response.url} answered 200 with an unexpected body: ${parsed.error.issues[0]?.message}`);
    }
    return parsed.data;
  }
}

/** The body as text, or an error past MAX_ANSWER_BYTES (the web's answers are a few bytes). */
async function readBounded(response: Response): Promise<string> {
  if (!response.body) return '';
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.length;
    if (total > MAX_ANSWER_BYTES) {
      await reader.cancel();
      throw new Error(`${response.url} answered more than ${MAX_ANSWER_BYTES} bytes`);
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks).toString('utf8');
}
