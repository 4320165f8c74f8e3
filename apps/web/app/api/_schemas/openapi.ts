import {
  AccountSchema,
  BanRequestSchema,
  CommentRequestSchema,
  CommentSchema,
  CreateSessionSchema,
  CreateVideoSchema,
  type ErrorCode,
  IdempotencyKeySchema,
  IngestAuthorizeRequestSchema,
  IngestAuthorizeResponseSchema,
  IngestInfoSchema,
  IngestReportResponseSchema,
  IngestReportSchema,
  LikeRequestSchema,
  PasskeyInfoSchema,
  PresenceListSchema,
  PresenceOnlineSchema,
  ReactionCountsSchema,
  RealtimeTokenResponseSchema,
  RegisterOptionsRequestSchema,
  RegisterVerifyRequestSchema,
  SessionInfoSchema,
  SignInVerifyRequestSchema,
  UpdateAccountRequestSchema,
  UpdateVideoSchema,
  UserSchema,
  VideoSchema,
  VideoStatsSchema,
} from '@ovation/shared';
import { buildOpenApi, type HeaderDoc, type JsonSchema, type RouteDoc } from '@ovation/shared/api-docs';
import { z } from 'zod';
import {
  CommentListQuerySchema,
  PresenceQuerySchema,
  RealtimeTokenQuerySchema,
  VideoListQuerySchema,
  VideoPresenceQuerySchema,
} from './queries';

/*
 * The product API's OpenAPI 3.1 document (GET /api/openapi.json): every route.ts under app/api
 * with the schemas it parses with. test/openapi.test.ts fails when a route file or one of its
 * methods has no entry here, or an entry no route.
 */

// Answers the route handlers build inline; the test holds real answers to them.
const SessionSchema = z.object({ user: UserSchema });
const SignedInSchema = z.object({ user: UserSchema, account: AccountSchema });
/** A passkey ceremony begun: its id, and the options for navigator.credentials (WebAuthn JSON). */
const CeremonySchema = z.object({ ceremony: z.string(), options: z.record(z.string(), z.unknown()) });
const IdParams = z.object({ id: z.string() });
const VideoAnswerSchema = z.object({ video: VideoSchema });
const VideoPageSchema = z.object({
  videos: z.array(VideoSchema),
  /** Absent with `owner=me` (the caller's own videos come whole). */
  next: z.string().nullable().optional(),
});

// Path parameters: ids the route looks up (unknown → 404), checked by no pattern.
const VideoParams = z.object({ id: z.string() });
const CommentParams = VideoParams.extend({ commentId: z.string() });
const BanParams = VideoParams.extend({ userId: z.string() });

/**
 * Every write (any method but GET) from another site, or with a body that is not JSON, is refused
 * (proxy.ts); Redis down answers 503 (unavailable.ts).
 */
const WRITE: ErrorCode[] = ['FORBIDDEN', 'UNAVAILABLE'];
const BODY: ErrorCode[] = ['INVALID_JSON', 'VALIDATION_FAILED', 'PAYLOAD_TOO_LARGE'];
const SIGNED_IN: ErrorCode[] = ['UNAUTHORIZED'];
/** Signed in with an account (a guest: 403 ACCOUNT_REQUIRED). */
const ACCOUNT: ErrorCode[] = ['UNAUTHORIZED', 'ACCOUNT_REQUIRED'];
/** The owner's routes: an account's session (a guest: ACCOUNT_REQUIRED), the video's owner. */
const OWNER: ErrorCode[] = ['UNAUTHORIZED', 'ACCOUNT_REQUIRED', 'FORBIDDEN', 'NOT_FOUND'];
const SESSION = 'session';

const idempotencyKey: HeaderDoc = {
  name: 'Idempotency-Key',
  description:
    '1–128 printable ASCII (spaces around trimmed); a repeat within 10 minutes answers the first answer and ' +
    'changes nothing; the same key with another request answers 409',
  schema: IdempotencyKeySchema,
};

export const PRODUCT_API_ROUTES: readonly RouteDoc[] = [
  {
    method: 'get',
    path: '/api/session',
    tags: ['session'],
    summary: 'Who is signed in',
    responses: {
      200: {
        description: '`user` null when signed out; `account` when signed in with one',
        schema: z.object({ user: UserSchema.nullable(), account: AccountSchema.optional() }),
      },
    },
    errors: ['UNAVAILABLE'],
  },
  {
    method: 'post',
    path: '/api/session',
    tags: ['session'],
    summary: 'Sign in with a display name, or rename',
    description:
      'Sets the httpOnly session cookie (`__Host-ovation_session` in production, `ovation_session` in development). ' +
      'Signed in already: the same user id under the new name (an account’s session: 409, its name is ' +
      'the account’s). ' +
      '`name`: one line of visible text, at most 40 characters once normalised (docs/interface.md, *User text*). ' +
      '240 an hour per address.',
    body: CreateSessionSchema,
    responses: { 200: { description: 'signed in; `Set-Cookie` carries the session', schema: SessionSchema } },
    errors: [...WRITE, ...BODY, 'CONFLICT', 'RATE_LIMITED'],
  },
  {
    method: 'delete',
    path: '/api/session',
    tags: ['session'],
    summary: 'Sign out: the cookie is cleared and every cookie of the session revoked',
    responses: { 200: { description: 'signed out', schema: z.object({ user: z.null() }) } },
    errors: WRITE,
  },
  {
    method: 'get',
    path: '/api/videos',
    tags: ['videos'],
    summary: 'Live videos, then your upcoming ones, then ended ones, newest first',
    description: '`owner=me` (signed in): your own videos, every status, in one answer.',
    query: VideoListQuerySchema,
    responses: { 200: { description: 'one page; `next` is the following page’s cursor', schema: VideoPageSchema } },
    errors: ['VALIDATION_FAILED', 'UNAUTHORIZED', 'UNAVAILABLE'],
  },
  {
    method: 'post',
    path: '/api/videos',
    tags: ['videos'],
    summary: 'Create a video (upcoming); the creator’s account owns it',
    description:
      '`title`: one line of visible text, at most 120 characters once normalised. `hlsUrl`: a public http(s) ' +
      'URL (https in production) or the demo’s `/demo/<name>.m3u8`; omitted, the demo stream. 429 beyond 5 ' +
      'upcoming videos, 20 a day per user, 100 a day per address. Broadcasting needs an account: a ' +
      'guest gets 403 ACCOUNT_REQUIRED.',
    security: SESSION,
    headers: [idempotencyKey],
    body: CreateVideoSchema,
    responses: { 201: { description: 'created', schema: VideoAnswerSchema } },
    errors: [...WRITE, ...BODY, ...ACCOUNT, 'CONFLICT', 'RATE_LIMITED'],
  },
  {
    method: 'get',
    path: '/api/videos/{id}',
    tags: ['videos'],
    summary: 'One video',
    params: VideoParams,
    responses: { 200: { description: 'the video', schema: VideoAnswerSchema } },
    errors: ['NOT_FOUND', 'UNAVAILABLE'],
  },
  {
    method: 'patch',
    path: '/api/videos/{id}',
    tags: ['videos'],
    summary: 'Change a video’s settings (owner): members-only comments',
    description: 'With `membersOnlyComments` on, a guest’s comment answers 403 ACCOUNT_REQUIRED.',
    security: SESSION,
    params: VideoParams,
    body: UpdateVideoSchema,
    responses: { 200: { description: 'the video', schema: VideoAnswerSchema } },
    errors: [...WRITE, ...BODY, ...OWNER],
  },
  {
    method: 'post',
    path: '/api/videos/{id}/start',
    tags: ['videos'],
    summary: 'Go live (owner); viewers receive `status` "live"',
    description: 'A repeat answers 200 again; an ended video cannot go live (409).',
    security: SESSION,
    params: VideoParams,
    responses: { 200: { description: 'the video, live', schema: VideoAnswerSchema } },
    errors: [...WRITE, ...OWNER, 'CONFLICT'],
  },
  {
    method: 'post',
    path: '/api/videos/{id}/end',
    tags: ['videos'],
    summary: 'End the video (owner); viewers receive `status` "ended"',
    security: SESSION,
    params: VideoParams,
    responses: { 200: { description: 'the video, ended', schema: VideoAnswerSchema } },
    errors: [...WRITE, ...OWNER, 'CONFLICT'],
  },
  {
    method: 'get',
    path: '/api/videos/{id}/stats',
    tags: ['videos'],
    summary: 'The studio dashboard’s figures (owner)',
    security: SESSION,
    params: VideoParams,
    responses: { 200: { description: 'viewers, likes, activity per minute, latency', schema: VideoStatsSchema } },
    errors: [...OWNER, 'UNAVAILABLE'],
  },
  {
    method: 'get',
    path: '/api/videos/{id}/presence',
    tags: ['presence'],
    summary: 'Who is watching (owner): one page of the signed-in viewers in id order, and the counts',
    description:
      '`count` viewers with a session (each listed, with `since`), `guests` without one (counted only). ' +
      '`cursor`: the previous page’s `next`; `limit` 1–1000 (default 100). A viewer whose connection ' +
      'dropped stays listed for PRESENCE_GRACE_MS (10 s) in case they come back. 503 when the realtime ' +
      'tier cannot say.',
    security: SESSION,
    params: VideoParams,
    query: VideoPresenceQuerySchema,
    responses: { 200: { description: 'one page; `next` null on the last', schema: PresenceListSchema } },
    errors: ['VALIDATION_FAILED', ...OWNER, 'UNAVAILABLE'],
  },
  {
    method: 'post',
    path: '/api/videos/{id}/likes',
    tags: ['interactions'],
    summary:
      'React: like, celebrate, support, love, insightful or funny (taps batched by the client); viewers receive `like`',
    description:
      'The video must be live (409). An empty body is `{}`: one `like`. The `like` event viewers receive carries `byReaction` (this batch per reaction) and `totals` (the video per reaction).',
    security: SESSION,
    headers: [idempotencyKey],
    params: VideoParams,
    body: LikeRequestSchema,
    bodyRequired: false,
    responses: {
      202: {
        description: 'the like total, and per reaction',
        schema: z.object({ total: z.number().int().nonnegative(), totals: ReactionCountsSchema }),
      },
    },
    errors: [...WRITE, ...BODY, ...SIGNED_IN, 'NOT_FOUND', 'CONFLICT', 'RATE_LIMITED'],
  },
  {
    method: 'get',
    path: '/api/videos/{id}/comments',
    tags: ['interactions'],
    summary: 'The latest comments, oldest first',
    params: VideoParams,
    query: CommentListQuerySchema,
    responses: { 200: { description: 'comments', schema: z.object({ comments: z.array(CommentSchema) }) } },
    errors: ['VALIDATION_FAILED', 'NOT_FOUND', 'UNAVAILABLE'],
  },
  {
    method: 'post',
    path: '/api/videos/{id}/comments',
    tags: ['interactions'],
    summary: 'Comment; viewers receive `comment`',
    description:
      '`text`: one line of visible text, 1–500 characters once normalised. 409 on an ended video or under the ' +
      'broadcaster’s name; 403 BANNED for a banned user or address; 403 ACCOUNT_REQUIRED from a guest ' +
      'where comments are members-only.',
    security: SESSION,
    headers: [idempotencyKey],
    params: VideoParams,
    body: CommentRequestSchema,
    responses: { 201: { description: 'the stored comment', schema: z.object({ comment: CommentSchema }) } },
    errors: [...WRITE, ...BODY, ...SIGNED_IN, 'ACCOUNT_REQUIRED', 'BANNED', 'NOT_FOUND', 'CONFLICT', 'RATE_LIMITED'],
  },
  {
    method: 'delete',
    path: '/api/videos/{id}/comments/{commentId}',
    tags: ['moderation'],
    summary: 'Delete a comment (owner); viewers receive `comment_deleted`',
    security: SESSION,
    params: CommentParams,
    responses: {
      200: { description: 'deleted (a repeat within 10 minutes too)', schema: z.object({ deleted: z.literal(true) }) },
    },
    errors: [...WRITE, ...OWNER],
  },
  {
    method: 'get',
    path: '/api/videos/{id}/bans',
    tags: ['moderation'],
    summary: 'Users barred from commenting (owner)',
    security: SESSION,
    params: VideoParams,
    responses: { 200: { description: 'bans', schema: z.object({ bans: z.array(UserSchema) }) } },
    errors: [...OWNER, 'UNAVAILABLE'],
  },
  {
    method: 'post',
    path: '/api/videos/{id}/bans',
    tags: ['moderation'],
    summary: 'Bar a user (and the addresses they used) from commenting (owner)',
    description: 'The owner cannot ban themself (400).',
    security: SESSION,
    params: VideoParams,
    body: BanRequestSchema,
    responses: { 201: { description: 'the ban', schema: z.object({ ban: UserSchema }) } },
    errors: [...WRITE, ...BODY, ...OWNER, 'CONFLICT'],
  },
  {
    method: 'delete',
    path: '/api/videos/{id}/bans/{userId}',
    tags: ['moderation'],
    summary: 'Lift a ban (owner); 404 when not banned',
    security: SESSION,
    params: BanParams,
    responses: { 200: { description: 'unbanned', schema: z.object({ unbanned: z.literal(true) }) } },
    errors: [...WRITE, ...OWNER],
  },
  {
    method: 'get',
    path: '/api/videos/{id}/ingest',
    tags: ['ingest'],
    summary: 'Where the broadcaster’s encoder pushes (RTMP URL and stream key), and its health (owner)',
    description:
      'The key is made on the first ask and kept until rotated. `health` is null while no encoder is ' +
      'connected. 503 when no ingest service is configured.',
    security: SESSION,
    params: VideoParams,
    responses: { 200: { description: 'ingest info', schema: IngestInfoSchema } },
    errors: [...ACCOUNT, 'FORBIDDEN', 'NOT_FOUND', 'UNAVAILABLE'],
  },
  {
    method: 'post',
    path: '/api/videos/{id}/ingest/rotate',
    tags: ['ingest'],
    summary: 'A new stream key (owner): the old one stops working and its publish is cut off',
    security: SESSION,
    params: VideoParams,
    responses: { 200: { description: 'ingest info with the new key', schema: IngestInfoSchema } },
    errors: [...WRITE, ...ACCOUNT, 'NOT_FOUND', 'CONFLICT'],
  },
  {
    method: 'post',
    path: '/api/internal/ingest/authorize',
    tags: ['ingest'],
    summary: 'The ingest service asks whether a stream key may publish (Bearer INTERNAL_TOKEN)',
    body: IngestAuthorizeRequestSchema,
    responses: { 200: { description: 'the video and this publish’s session', schema: IngestAuthorizeResponseSchema } },
    errors: [...WRITE, ...BODY, 'UNAUTHORIZED'],
  },
  {
    method: 'post',
    path: '/api/internal/ingest/report',
    tags: ['ingest'],
    summary: 'The ingest service reports a publish: live, health, interrupted (Bearer INTERNAL_TOKEN)',
    description: '`stop: true` when the publish is no longer the video’s (key rotated, video ended).',
    body: IngestReportSchema,
    responses: { 200: { description: 'whether to stop', schema: IngestReportResponseSchema } },
    errors: [...WRITE, ...BODY, 'BAD_REQUEST', 'UNAUTHORIZED'],
  },
  {
    method: 'post',
    path: '/api/auth/register/options',
    tags: ['accounts'],
    summary: 'Begin a sign-up with a passkey',
    description:
      '`options` go to navigator.credentials.create(); the answer, with `ceremony`, to …/register/verify ' +
      'within 5 minutes, once. Signed in as a guest: that guest becomes the account (same user id). ' +
      '`handle`: 3–20 letters, digits or _, unique whatever its case. 120 ceremonies an hour per address.',
    body: RegisterOptionsRequestSchema,
    responses: { 200: { description: 'the ceremony', schema: CeremonySchema } },
    errors: [...WRITE, ...BODY, 'CONFLICT', 'HANDLE_TAKEN', 'RATE_LIMITED'],
  },
  {
    method: 'post',
    path: '/api/auth/register/verify',
    tags: ['accounts'],
    summary: 'Finish a sign-up: the passkey is checked, the account made and signed in',
    description: 'Sets the session cookie (an account’s session). 20 accounts a day per address.',
    body: RegisterVerifyRequestSchema,
    responses: { 201: { description: 'signed in', schema: SignedInSchema } },
    errors: [...WRITE, ...BODY, 'BAD_REQUEST', 'CONFLICT', 'HANDLE_TAKEN', 'RATE_LIMITED'],
  },
  {
    method: 'post',
    path: '/api/auth/login/options',
    tags: ['accounts'],
    summary: 'Begin a sign-in with a passkey (the browser offers the person’s passkeys for this site)',
    responses: { 200: { description: 'the ceremony', schema: CeremonySchema } },
    errors: [...WRITE, 'RATE_LIMITED'],
  },
  {
    method: 'post',
    path: '/api/auth/login/verify',
    tags: ['accounts'],
    summary: 'Finish a sign-in: a new session of the passkey’s account',
    body: SignInVerifyRequestSchema,
    responses: { 200: { description: 'signed in', schema: SignedInSchema } },
    errors: [...WRITE, ...BODY, 'BAD_REQUEST', 'UNAUTHORIZED'],
  },
  {
    method: 'post',
    path: '/api/auth/logout',
    tags: ['accounts'],
    summary: 'Sign out (an account’s or a guest’s session): every cookie of the session stops working',
    responses: { 200: { description: 'signed out', schema: z.object({ user: z.null() }) } },
    errors: WRITE,
  },
  {
    method: 'post',
    path: '/api/auth/reauth/options',
    tags: ['accounts'],
    summary: 'Begin confirming the signed-in account’s passkey (asked before changing its ways in)',
    security: SESSION,
    responses: { 200: { description: 'the ceremony', schema: CeremonySchema } },
    errors: [...WRITE, ...ACCOUNT, 'RATE_LIMITED'],
  },
  {
    method: 'post',
    path: '/api/auth/reauth/verify',
    tags: ['accounts'],
    summary: 'Finish confirming: for 10 minutes the session may add or remove passkeys and end other sessions',
    security: SESSION,
    body: SignInVerifyRequestSchema,
    responses: { 200: { description: 'confirmed', schema: z.object({ confirmedAt: z.string() }) } },
    errors: [...WRITE, ...BODY, ...ACCOUNT, 'BAD_REQUEST', 'FORBIDDEN'],
  },
  {
    method: 'get',
    path: '/api/auth/sessions',
    tags: ['accounts'],
    summary: 'The account’s signed-in sessions, newest first (at most 20)',
    security: SESSION,
    responses: { 200: { description: 'sessions', schema: z.object({ sessions: z.array(SessionInfoSchema) }) } },
    errors: [...ACCOUNT, 'UNAVAILABLE'],
  },
  {
    method: 'delete',
    path: '/api/auth/sessions/{id}',
    tags: ['accounts'],
    summary: 'End one of the account’s sessions (its cookies stop working)',
    description: 'Another session than this one: 403 REAUTH_REQUIRED without a passkey checked in the last 10 minutes.',
    security: SESSION,
    params: IdParams,
    responses: { 200: { description: 'ended', schema: z.object({ ended: z.literal(true) }) } },
    errors: [...WRITE, ...ACCOUNT, 'REAUTH_REQUIRED', 'NOT_FOUND'],
  },
  {
    method: 'get',
    path: '/api/account',
    tags: ['accounts'],
    summary: 'The signed-in account and its passkeys (never their keys)',
    security: SESSION,
    responses: {
      200: {
        description: 'the account',
        schema: z.object({ account: AccountSchema, passkeys: z.array(PasskeyInfoSchema) }),
      },
    },
    errors: [...ACCOUNT, 'UNAVAILABLE'],
  },
  {
    method: 'patch',
    path: '/api/account',
    tags: ['accounts'],
    summary: 'Rename the account (every session shows the new name)',
    security: SESSION,
    body: UpdateAccountRequestSchema,
    responses: { 200: { description: 'the account', schema: z.object({ account: AccountSchema }) } },
    errors: [...WRITE, ...BODY, ...ACCOUNT, 'RATE_LIMITED'],
  },
  {
    method: 'post',
    path: '/api/account/passkeys/options',
    tags: ['accounts'],
    summary: 'Begin adding a passkey to the account (another device)',
    description: '403 REAUTH_REQUIRED without a passkey checked in this session in the last 10 minutes.',
    security: SESSION,
    responses: { 200: { description: 'the ceremony', schema: CeremonySchema } },
    errors: [...WRITE, ...ACCOUNT, 'REAUTH_REQUIRED', 'RATE_LIMITED'],
  },
  {
    method: 'post',
    path: '/api/account/passkeys/verify',
    tags: ['accounts'],
    summary: 'Finish adding a passkey (at most 10 per account)',
    security: SESSION,
    body: RegisterVerifyRequestSchema,
    responses: { 201: { description: 'added', schema: z.object({ passkey: PasskeyInfoSchema }) } },
    errors: [...WRITE, ...BODY, ...ACCOUNT, 'REAUTH_REQUIRED', 'BAD_REQUEST', 'FORBIDDEN', 'CONFLICT'],
  },
  {
    method: 'delete',
    path: '/api/account/passkeys/{id}',
    tags: ['accounts'],
    summary: 'Remove a passkey (never the last: 409); the sessions it signed in end',
    security: SESSION,
    params: IdParams,
    responses: { 200: { description: 'removed', schema: z.object({ removed: z.literal(true) }) } },
    errors: [...WRITE, ...ACCOUNT, 'REAUTH_REQUIRED', 'NOT_FOUND', 'CONFLICT'],
  },
  {
    method: 'get',
    path: '/api/realtime-token',
    tags: ['realtime'],
    summary: 'A connection token for the realtime tier’s `GET /connect` (6 hours)',
    description:
      'Grants the topic `videos` and, with `videoId`, the video’s topic (observing too for its owner). ' +
      '`videoId` repeated (at most 63): one token for the connection a browser’s tabs share; unknown videos ' +
      'are then left out rather than 404 (with `shared=1` also for a single id), and `topics` says what was ' +
      'granted. Guests: 300 a minute per address.',
    query: RealtimeTokenQuerySchema,
    responses: { 200: { description: 'the token and the nodes to use it on', schema: RealtimeTokenResponseSchema } },
    errors: ['VALIDATION_FAILED', 'NOT_FOUND', 'RATE_LIMITED', 'UNAVAILABLE'],
  },
  {
    method: 'get',
    path: '/api/presence',
    tags: ['presence'],
    summary: 'Whether each user is watching: the video `videoId` (not yet left), or any video',
    description:
      '`users`: 1–100 user ids, comma-separated (repeats count once). The viewer page marks its commenters ' +
      'who are still here; `presence` events on the video’s stream keep it current. 3000 a minute per ' +
      'address; 503 when the realtime tier cannot say.',
    query: PresenceQuerySchema,
    responses: {
      200: { description: 'true or false for each id asked', schema: PresenceOnlineSchema },
    },
    errors: ['VALIDATION_FAILED', 'RATE_LIMITED', 'UNAVAILABLE'],
  },
  {
    method: 'get',
    path: '/api/openapi.json',
    tags: ['documents'],
    summary: 'This document',
    responses: { 200: { description: 'OpenAPI 3.1', jsonSchema: { type: 'object' } } },
    errors: [],
  },
];

export function productApiOpenApi(): JsonSchema {
  return buildOpenApi(
    {
      info: {
        title: 'Ovation product API',
        version: '0.1.0',
        description:
          'The web tier’s API, same origin as the pages. Writes take `Content-Type: application/json` ' +
          'from the app’s own origin only (403 otherwise); bodies are at most 64 KiB (413). Errors are ' +
          '`{ "error": { "code", "message" } }`. docs/interface.md has the details.',
      },
      tags: [
        { name: 'session', description: 'guest sign-in by display name' },
        { name: 'accounts', description: 'accounts with passkeys (broadcasting needs one)' },
        { name: 'ingest', description: 'going live from an encoder (OBS, ffmpeg) over RTMP' },
        { name: 'videos', description: 'live videos and the studio' },
        { name: 'interactions', description: 'likes and comments' },
        { name: 'moderation', description: 'the owner’s tools' },
        { name: 'presence', description: 'who is watching' },
        { name: 'realtime', description: 'access to the realtime tier' },
        { name: 'documents', description: 'this document' },
      ],
      securitySchemes: {
        [SESSION]: {
          type: 'apiKey',
          in: 'cookie',
          name: '__Host-ovation_session',
          description:
            'set by POST /api/session (a guest) or a passkey sign-up or sign-in (an account); ' +
            '`ovation_session` in development, served over plain http',
        },
      },
    },
    PRODUCT_API_ROUTES,
  );
}
