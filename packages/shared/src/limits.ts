/** Wire-level limits from the external contract (../shared/CONTRACT.md). */
export const TOPIC_PATTERN = /^[A-Za-z0-9:_-]{1,128}$/;
export const EVENT_TYPE_PATTERN = /^[a-z_]{1,32}$/;
/**
 * Event names the server itself sends on a stream (or that EventSource treats specially): a
 * published event of one of these types would pass for a control frame (`reconnect` sends clients
 * away, `error`/`message`/`open` fire the wrong EventSource handlers), so publishing one is refused.
 */
export const RESERVED_EVENT_TYPES: ReadonlySet<string> = new Set([
  'connected',
  'heartbeat',
  'reconnect',
  'resync',
  'snapshot',
  'error',
  'message',
  'open',
]);
/**
 * Event types only the dispatcher tier publishes, as events like any other (delivered, in order):
 * a publisher's `presence` would name people who never came, so publishing one is refused.
 */
export const SERVER_PUBLISHED_TYPES: ReadonlySet<string> = new Set(['presence']);
/** `Idempotency-Key` header and per-event `key`: 1–128 printable ASCII characters. */
export const IDEMPOTENCY_KEY_PATTERN = /^[\x20-\x7e]{1,128}$/;
/** How long a publish remembers an idempotency key. */
export const IDEMPOTENCY_TTL_MS = 10 * 60_000;
/** `data` of one event, JSON-encoded, in UTF-8 bytes. */
export const MAX_EVENT_DATA_BYTES = 8 * 1024;
/** Events in one `POST /publish` batch. */
export const MAX_PUBLISH_BATCH = 1000;
/** Default HTTP body limit of every service (413 beyond). */
export const DEFAULT_BODY_LIMIT_BYTES = 64 * 1024;
/**
 * Likes in one `POST /api/videos/:id/likes` (`count`) and so in one browser batch of taps. Equal to
 * the web limiter's default burst (LIKES_PER_SECOND, which must not be set below it): a larger
 * batch would pass validation and then always be refused as over the rate.
 */
export const MAX_LIKE_BATCH = 20;
/** Topics one connection may hold; keeps per-connection state small and bounded. */
export const MAX_TOPICS_PER_CONNECTION = 64;

export function isValidTopic(topic: string): boolean {
  return TOPIC_PATTERN.test(topic);
}

export function videoTopic(videoId: string): string {
  return `video:${videoId}`;
}

/** UTF-8 length of a string without allocating an encoded copy (works in browsers too). */
export function utf8ByteLength(text: string): number {
  let bytes = 0;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code < 0x80) bytes += 1;
    else if (code < 0x800) bytes += 2;
    else if (code >= 0xd800 && code <= 0xdbff && i + 1 < text.length) {
      // A surrogate pair is one 4-byte code point.
      bytes += 4;
      i++;
    } else bytes += 3;
  }
  return bytes;
}
