import { IngestAuthorizeRequestSchema } from '@ovation/shared';
import type { FastifyBaseLogger } from 'fastify';
import { type HlsDirectories, SAFE_ID } from './hls-directories.js';
import type { StartPackager } from './media/packager.js';
import type { IngestMetrics, RefusalReason } from './metrics.js';
import { PublishSession, type SessionLimits } from './publish-session.js';
import type { PublishAnswer, PublisherConnection, PublishGate } from './rtmp/connection.js';
import type { WebClient } from './web-client.js';

export interface PublishersOptions {
  web: Pick<WebClient, 'authorize' | 'report'>;
  hls: HlsDirectories;
  startPackager: StartPackager;
  /** `<PUBLIC_URL>/hls` */
  hlsBaseUrl: string;
  maxPublishers: number;
  limits: SessionLimits;
  metrics: IngestMetrics;
  log: FastifyBaseLogger;
}

/**
 * Decides on each publish and keeps the accepted ones: the web says whether the key is good and
 * for which video; here, at most MAX_PUBLISHERS at once and one per video. A second publish of a
 * video while one is on is refused ("already publishing") rather than taking over: an encoder
 * reconnecting after a drop comes back once the first connection's end is seen (at most IDLE_MS),
 * and a leaked key cannot knock the owner's encoder off.
 */
export class Publishers implements PublishGate {
  private readonly sessions = new Map<string, PublishSession>();
  private closing = false;

  constructor(private readonly options: PublishersOptions) {}

  get active(): number {
    return this.sessions.size;
  }

  async publish(streamKey: string, connection: PublisherConnection): Promise<PublishAnswer> {
    const keyPrefix = streamKey.slice(0, 8);
    const refuse = (reason: RefusalReason, description: string, detail?: string): PublishAnswer => {
      this.options.metrics.refused.inc({ reason });
      this.options.log.info(
        { key: keyPrefix, address: connection.address, reason, ...(detail ? { detail } : {}) },
        'publish refused',
      );
      return { ok: false, reason: description };
    };
    if (this.closing) return refuse('closing', 'the ingest is stopping');
    if (this.sessions.size >= this.options.maxPublishers) return refuse('full', 'the ingest is full');

    const request = IngestAuthorizeRequestSchema.safeParse({ streamKey, address: connection.address });
    if (!request.success) return refuse('key', 'stream key refused', 'not a key the web could hold');
    const answer = await this.options.web.authorize(request.data);
    if (!answer.ok) {
      return answer.refused
        ? refuse('key', 'stream key refused')
        : refuse('web_error', 'the stream key could not be checked', answer.detail);
    }
    const { videoId, sessionId } = answer;
    if (!SAFE_ID.test(videoId) || !SAFE_ID.test(sessionId)) {
      return refuse('web_error', 'the stream key could not be checked', 'the web answered ids unsafe as paths');
    }

    // From here to the session's start nothing awaits: no second publish can slip in between.
    if (!connection.open) return { ok: false, reason: 'the connection closed' };
    if (this.closing) return refuse('closing', 'the ingest is stopping');
    if (this.sessions.has(videoId)) return refuse('busy', 'already publishing');
    if (this.sessions.size >= this.options.maxPublishers) return refuse('full', 'the ingest is full');

    const dir = this.options.hls.begin(videoId, sessionId);
    const session = new PublishSession({
      videoId,
      sessionId,
      dir,
      playlistUrl: `${this.options.hlsBaseUrl}/${videoId}/index.m3u8`,
      connection,
      packager: this.options.startPackager(dir),
      web: this.options.web,
      log: this.options.log,
      limits: this.options.limits,
      onBytes: (bytes) => this.options.metrics.bytesIn.inc(bytes),
      onEnd: (ended) => {
        if (this.sessions.get(ended.videoId) === ended) this.sessions.delete(ended.videoId);
        this.options.hls.ended(ended.videoId, ended.sessionId);
      },
    });
    this.sessions.set(videoId, session);
    this.options.metrics.accepted.inc();
    this.options.log.info({ key: keyPrefix, address: connection.address, videoId, sessionId }, 'publish accepted');
    return { ok: true, sink: session };
  }

  /** Refuses new publishes and ends the current ones; resolves when their ffmpegs exited and the web was told. */
  async closeAll(reason: string): Promise<void> {
    this.closing = true;
    const sessions = [...this.sessions.values()];
    for (const session of sessions) session.end(reason);
    await Promise.all(sessions.map((session) => session.finished));
  }
}
