import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { TIngestReport } from '@ovation/shared';
import type { FastifyBaseLogger } from 'fastify';
import { FLV_AUDIO, FLV_SCRIPT, FLV_VIDEO } from './media/flv.js';
import type { Packager } from './media/packager.js';
import { readPlaylist } from './media/playlist.js';
import { type SegmentStats, STATS_WINDOW_MS, StreamStats } from './media/stream-stats.js';
import type { PublisherConnection, PublishSink } from './rtmp/connection.js';
import type { StreamMetadata } from './rtmp/metadata.js';
import type { WebClient } from './web-client.js';

/*
 * One accepted publish: the encoder's media into its packager, and what the web hears of it.
 *
 *   media ──▶ stats, ffmpeg stdin ──▶ <dir>/seg-N.ts, index.m3u8
 *   every 250 ms: playlist read (first segment → `live`), idle and bitrate checked
 *   every 2 s: `health`                      any end: ffmpeg stopped, `interrupted`
 *
 * The web may answer any report with `stop` (key rotated, video ended): the publish ends at once.
 */

export const HEALTH_EVERY_MS = 2000;
const CHECK_EVERY_MS = 250;
/** Past this much media waiting for ffmpeg, it is not keeping up: the publish ends. */
export const MAX_BACKLOG_BYTES = 32 * 1024 * 1024;

export interface SessionLimits {
  idleMs: number;
  /** The longest without a new segment (config SEGMENT_WAIT_MS): a segment file's size bound. */
  segmentWaitMs: number;
  maxBitrateKbps: number;
  maxBacklogBytes: number;
}

export interface SessionOptions {
  videoId: string;
  sessionId: string;
  dir: string;
  playlistUrl: string;
  connection: PublisherConnection;
  packager: Packager;
  web: Pick<WebClient, 'report'>;
  log: FastifyBaseLogger;
  limits: SessionLimits;
  onBytes(bytes: number): void;
  onEnd(session: PublishSession): void;
}

export class PublishSession implements PublishSink {
  readonly videoId: string;
  readonly sessionId: string;
  private readonly stats: StreamStats;
  private readonly segments: SegmentStats = { segments: 0, lastSegmentAt: null, segmentDurationS: null };
  private lastMediaAt: number;
  private readonly startedAt: number;
  private live: 'waiting' | 'sending' | 'sent' = 'waiting';
  private liveTriedAt = 0;
  private reporting = false;
  private readingPlaylist = false;
  private ended = false;
  private readonly timers: NodeJS.Timeout[];
  private finishedPromise: Promise<void> = Promise.resolve();

  constructor(private readonly options: SessionOptions) {
    this.videoId = options.videoId;
    this.sessionId = options.sessionId;
    const now = Date.now();
    this.lastMediaAt = now;
    this.startedAt = now;
    this.stats = new StreamStats(options.connection.connectedAt, now);
    options.packager.onExit((detail) => this.end(`the packager ${detail}`));
    this.timers = [
      setInterval(() => this.check(), CHECK_EVERY_MS),
      setInterval(() => this.reportHealth(), HEALTH_EVERY_MS),
    ];
  }

  /** Resolves once the packager has exited and `interrupted` was sent (or given up on). */
  get finished(): Promise<void> {
    return this.finishedPromise;
  }

  metadata(metadata: StreamMetadata, scriptBody: Buffer): void {
    if (this.ended) return;
    this.stats.setMetadata(metadata);
    this.options.packager.write(FLV_SCRIPT, 0, scriptBody);
  }

  /**
   * Per message (~30-100 a second per publisher): a few counters, one writev to ffmpeg's stdin (the
   * payload is not copied), a backlog check. Nothing here waits or allocates per byte.
   */
  media(kind: 'audio' | 'video', timestamp: number, payload: Buffer): void {
    if (this.ended) return;
    const now = Date.now();
    this.lastMediaAt = now;
    this.stats.media(kind, timestamp, payload, now);
    this.options.onBytes(payload.length);
    this.options.packager.write(kind === 'audio' ? FLV_AUDIO : FLV_VIDEO, timestamp, payload);
    if (this.options.packager.backlog > this.options.limits.maxBacklogBytes) {
      this.end(`the packager is not keeping up (over ${this.options.limits.maxBacklogBytes} bytes waiting)`);
    }
  }

  /**
   * Ends the publish (idempotent): the connection closed, the packager stopped, the directory kept
   * for a while (HlsDirectories), and `interrupted` told unless the web itself asked for the stop.
   */
  end(reason: string, options: { tellWeb?: boolean } = {}): void {
    if (this.ended) return;
    this.ended = true;
    for (const timer of this.timers) clearInterval(timer);
    this.options.connection.close(reason);
    this.options.onEnd(this);
    this.options.log.info(
      { videoId: this.videoId, sessionId: this.sessionId, bytesIn: this.stats.bytesIn, reason },
      'publish ended',
    );
    const stopped = this.options.packager.stop();
    const told = options.tellWeb === false ? Promise.resolve() : this.send('interrupted').then(() => {});
    this.finishedPromise = Promise.all([stopped, told]).then(() => {});
  }

  private check(): void {
    const now = Date.now();
    if (now - this.lastMediaAt > this.options.limits.idleMs) {
      this.end(`no media for ${this.options.limits.idleMs} ms`);
      return;
    }
    // Media arriving but no segment cut (no keyframes, frozen timestamps): one segment file would
    // grow without end on the disk; a publish makes a segment every few seconds or stops.
    const lastCut = this.segments.lastSegmentAt?.getTime() ?? this.startedAt;
    if (now - lastCut > this.options.limits.segmentWaitMs) {
      this.end(`no segment for ${this.options.limits.segmentWaitMs} ms (a keyframe every few seconds is needed)`);
      return;
    }
    const kbps = (this.stats.recentBytes(now) * 8) / STATS_WINDOW_MS;
    if (kbps > this.options.limits.maxBitrateKbps) {
      this.end(`over ${this.options.limits.maxBitrateKbps} kbps for 5 s`);
      return;
    }
    this.readPlaylist().catch((error: unknown) => this.options.log.warn({ err: error }, 'playlist read failed'));
    if (this.segments.segments > 0 && this.live === 'waiting' && now - this.liveTriedAt >= HEALTH_EVERY_MS) {
      this.liveTriedAt = now;
      this.live = 'sending';
      this.send('live').then((answered) => {
        if (this.live === 'sending') this.live = answered ? 'sent' : 'waiting';
      });
    }
  }

  private async readPlaylist(): Promise<void> {
    if (this.readingPlaylist) return;
    this.readingPlaylist = true;
    try {
      const text = await readFile(join(this.options.dir, 'index.m3u8'), 'utf8').catch((error: unknown) => {
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
        throw error;
      });
      if (text === undefined) return;
      const playlist = readPlaylist(text);
      const written = playlist.mediaSequence + playlist.segments.length;
      if (written > this.segments.segments) {
        this.segments.segments = written;
        this.segments.lastSegmentAt = new Date();
        this.segments.segmentDurationS = playlist.lastDurationS;
      }
    } finally {
      this.readingPlaylist = false;
    }
  }

  private reportHealth(): void {
    // One report at a time: a slow web gets the next tick's numbers, not a queue of old ones.
    if (this.reporting) return;
    this.reporting = true;
    this.send('health').finally(() => {
      this.reporting = false;
    });
  }

  /** Sends a report; resolves whether the web took it. A `stop` answer ends the publish. */
  private async send(state: TIngestReport['state']): Promise<boolean> {
    const report: TIngestReport = {
      videoId: this.videoId,
      sessionId: this.sessionId,
      state,
      health: this.stats.health(Date.now(), this.segments),
    };
    if (state === 'live') report.playlistUrl = this.options.playlistUrl;
    try {
      const answer = await this.options.web.report(report);
      if (answer.stop) this.end('the web asked to stop (key rotated or video ended)', { tellWeb: false });
      return true;
    } catch (error) {
      this.options.log.warn(
        { videoId: this.videoId, state, err: error instanceof Error ? error.message : String(error) },
        'report to the web failed',
      );
      return false;
    }
  }
}
