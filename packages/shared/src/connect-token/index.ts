import { createSecretKey, type KeyObject } from 'node:crypto';
import { errors as joseErrors, jwtVerify, SignJWT } from 'jose';
import { z } from 'zod';
import { AppError } from '../errors.js';
import { MAX_TOPICS_PER_CONNECTION } from '../limits.js';
import { TopicSchema } from '../schemas.js';

/*
 * Connection tokens: what a viewer may do on the realtime tier, signed by the web tier and checked
 * by every node with a shared key (CONNECT_TOKEN_SECRET), so a node decides without a call.
 *
 *   web (page, GET /api/realtime-token) ──sign { sub, topics, observe, exp }──▶ browser
 *   browser ──GET /connect?topics=…&token=…──▶ node: verify, then every topic must be granted
 *
 * A JWT (HS256, jose) with a fixed audience, so a session cookie (same library, another key and
 * audience) can never pass for one. Exact topic names only: a token for `video:a` grants nothing
 * else. It is valid for hours, so a standard EventSource can keep reconnecting with the URL it was
 * given; after that a node answers 401 and the project's client fetches a new one.
 */

export const CONNECT_TOKEN_AUDIENCE = 'ovation:connect';
/** Default lifetime: a long live stream watched without a renewal. */
export const CONNECT_TOKEN_TTL_SECONDS = 6 * 3600;
/** A token longer than this is refused unread (the query string and header are bounded). */
export const MAX_CONNECT_TOKEN_LENGTH = 4096;

const GrantClaimsSchema = z.object({
  sub: z.string().regex(/^[A-Za-z0-9:_-]{1,64}$/),
  topics: z.array(TopicSchema).min(1).max(MAX_TOPICS_PER_CONNECTION),
  observe: z.array(TopicSchema).max(MAX_TOPICS_PER_CONNECTION).default([]),
  exp: z.number().int(),
});

/** What a token lets its holder do. */
export interface ConnectGrant {
  /** Who the viewer is (a user id, or a guest id): viewer counts count each once per node. */
  viewerId: string;
  /** Topics it may join. */
  topics: readonly string[];
  /** Topics it may join as an observer (`observer=1`: not counted; the video's owner). */
  observe: readonly string[];
}

export class ConnectTokens {
  private readonly key: KeyObject;

  constructor(secret: string) {
    this.key = createSecretKey(Buffer.from(secret, 'utf8'));
  }

  /** A token for `grant`, and when it expires (ms since the epoch). */
  async sign(
    grant: ConnectGrant,
    ttlSeconds = CONNECT_TOKEN_TTL_SECONDS,
    now = Date.now(),
  ): Promise<{ token: string; expiresAt: number }> {
    const issuedAt = Math.floor(now / 1000);
    const expiresAt = issuedAt + ttlSeconds;
    const token = await new SignJWT({ topics: [...grant.topics], observe: [...grant.observe] })
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject(grant.viewerId)
      .setAudience(CONNECT_TOKEN_AUDIENCE)
      .setIssuedAt(issuedAt)
      .setExpirationTime(expiresAt)
      .sign(this.key);
    return { token, expiresAt: expiresAt * 1000 };
  }

  /** The grant of a valid token; a 401 AppError naming why otherwise (expired, forged, malformed). */
  async verify(token: string, now = Date.now()): Promise<ConnectGrant & { expiresAt: number }> {
    if (token.length > MAX_CONNECT_TOKEN_LENGTH) throw unauthorized('the connection token is too long');
    let payload: unknown;
    try {
      ({ payload } = await jwtVerify(token, this.key, {
        algorithms: ['HS256'],
        audience: CONNECT_TOKEN_AUDIENCE,
        currentDate: new Date(now),
        requiredClaims: ['exp', 'sub'],
      }));
    } catch (error) {
      if (error instanceof joseErrors.JWTExpired) throw unauthorized('the connection token has expired; get a new one');
      throw unauthorized('the connection token is not valid');
    }
    const claims = GrantClaimsSchema.safeParse(payload);
    if (!claims.success) throw unauthorized('the connection token is not valid');
    return {
      viewerId: claims.data.sub,
      topics: claims.data.topics,
      observe: claims.data.observe,
      expiresAt: claims.data.exp * 1000,
    };
  }
}

function unauthorized(message: string): AppError {
  return new AppError('UNAUTHORIZED', message);
}
