import { z } from 'zod';

/*
 * Ingest (issue 16): a broadcaster's encoder (OBS, ffmpeg) pushes RTMP to the ingest service
 * (apps/ingest) with the video's stream key; the ingest packages HLS and tells the web what
 * happens. These are the messages between them (web routes /api/internal/ingest/…, Bearer
 * INTERNAL_TOKEN) and the health the studio shows.
 */

/** A stream key: `ovk_` and 32 random bytes, base64url. Shown to the video's owner only. */
export const STREAM_KEY_PATTERN = /^ovk_[A-Za-z0-9_-]{43}$/;
export const StreamKeySchema = z.string().regex(STREAM_KEY_PATTERN, 'must be a stream key (ovk_…)');

const isoTime = z.string().max(40);

/** POST /api/internal/ingest/authorize: may this key publish? (Asked before the RTMP publish is accepted.) */
export const IngestAuthorizeRequestSchema = z.object({
  /** The stream name the encoder sent (what OBS calls the stream key); checked, never logged whole. */
  streamKey: z.string().max(200),
  /** The encoder's address, for the web's log and limits. */
  address: z.string().max(64),
});
export type TIngestAuthorizeRequest = z.infer<typeof IngestAuthorizeRequestSchema>;

/** 200: yes, for this video, as this ingest session (refused keys answer 403 FORBIDDEN). */
export const IngestAuthorizeResponseSchema = z.object({
  videoId: z.string().min(1).max(64),
  /** Names this publish: later reports carry it, and the web answers `stop` once it is not the current one. */
  sessionId: z.string().min(1).max(64),
});
export type TIngestAuthorizeResponse = z.infer<typeof IngestAuthorizeResponseSchema>;

/** The encoder's stream as the ingest measures it. */
export const IngestHealthSchema = z.object({
  connectedAt: isoTime,
  /** Bytes of media received, and the rate over the last 5 seconds. */
  bytesIn: z.number().int().nonnegative(),
  bitrateKbps: z.number().nonnegative(),
  video: z.object({
    codec: z.string().max(32).nullable(),
    width: z.number().int().nonnegative().nullable(),
    height: z.number().int().nonnegative().nullable(),
    /** Frames per second over the last 5 seconds. */
    fps: z.number().nonnegative().nullable(),
    frames: z.number().int().nonnegative(),
    /** Seconds between the last two keyframes (segments cannot be shorter). */
    keyframeIntervalS: z.number().nonnegative().nullable(),
  }),
  audio: z.object({
    codec: z.string().max(32).nullable(),
    sampleRate: z.number().int().nonnegative().nullable(),
  }),
  /** HLS segments written, when the last was, and its duration. */
  segments: z.number().int().nonnegative(),
  lastSegmentAt: isoTime.nullable(),
  segmentDurationS: z.number().nonnegative().nullable(),
});
export type TIngestHealth = z.infer<typeof IngestHealthSchema>;

/**
 * POST /api/internal/ingest/report: what happened to a publish. `live`: its first segment is
 * ready (the playlist at `playlistUrl` plays); `health`: every 2 s while connected;
 * `interrupted`: the encoder dropped (closed, or no media for IDLE_MS).
 */
export const IngestReportSchema = z.object({
  videoId: z.string().min(1).max(64),
  sessionId: z.string().min(1).max(64),
  state: z.enum(['live', 'health', 'interrupted']),
  /** The public playlist URL (state `live`). */
  playlistUrl: z
    .url({ protocol: /^https?$/ })
    .max(2048)
    .optional(),
  health: IngestHealthSchema.optional(),
});
export type TIngestReport = z.infer<typeof IngestReportSchema>;

/** The web's answer to a report: `stop` when this session is no longer the video's (key rotated, video ended). */
export const IngestReportResponseSchema = z.object({ stop: z.boolean() });
export type TIngestReportResponse = z.infer<typeof IngestReportResponseSchema>;

/** The `stream` event on a video topic: the broadcaster's encoder is sending, or it dropped. */
export const StreamEventSchema = z.object({
  videoId: z.string(),
  state: z.enum(['live', 'interrupted']),
});
export type TStreamEvent = z.infer<typeof StreamEventSchema>;

/** GET /api/videos/:id/ingest (owner): where and how to push, and the stream's health while connected. */
export const IngestInfoSchema = z.object({
  rtmpUrl: z.string(),
  streamKey: StreamKeySchema,
  /** null when no encoder is connected (or the ingest is not running). */
  health: IngestHealthSchema.nullable(),
  /** When the last health report came (null: none yet). */
  reportedAt: isoTime.nullable(),
});
export type TIngestInfo = z.infer<typeof IngestInfoSchema>;
