/*
 * The dispatcher's publish limits (the external contract), checked here before an event is queued:
 * a bad event fails its own publish at once instead of the whole batch it would have joined (the
 * dispatcher refuses a batch with one bad event as a whole). test/wire-types.test.ts keeps these
 * equal to the server's.
 */

export const TOPIC_PATTERN = /^[A-Za-z0-9:_-]{1,128}$/;
export const EVENT_TYPE_PATTERN = /^[a-z_]{1,32}$/;
/** Names the server sends itself on a stream: publishing one is refused (400 naming `type`). */
export const RESERVED_EVENT_TYPES = [
  'connected',
  'heartbeat',
  'reconnect',
  'resync',
  'snapshot',
  'error',
  'message',
  'open',
] as const;
/** `Idempotency-Key` and a batch event's `key`: 1–128 printable ASCII characters. */
export const IDEMPOTENCY_KEY_PATTERN = /^[\x20-\x7e]{1,128}$/;
/** An event's `data`, JSON-encoded, in UTF-8 bytes. */
export const MAX_EVENT_DATA_BYTES = 8 * 1024;
/** Events in one `POST /publish`. */
export const MAX_PUBLISH_BATCH = 1000;
/** The dispatcher's body limit for `POST /publish` (413 beyond). */
export const MAX_PUBLISH_BODY_BYTES = 64 * 1024;
