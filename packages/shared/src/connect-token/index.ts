import { createSigner, createVerifier, TokenError } from 'fast-jwt';
import { z } from 'zod';
import { AppError } from '../errors.js';
import { MAX_TOPICS_PER_CONNECTION } from '../limits.js';
import { PresenceNameSchema } from '../presence.js';
import { TopicSchema } from '../schemas.js';

/*
 * Connection tokens: what a viewer may do on the realtime tier, signed by the web tier and checked
 * by every node with a shared key (CONNECT_TOKEN_SECRET), so a node decides without a call.
 *
 *   web (page, GET /api/realtime-token) ──sign { sub, name?, topics, observe, exp }──▶ browser
 *   browser ──GET /connect?topics=…&token=…──▶ node: verify, then every topic must be granted
 *
 * A JWT (HS256 only, fast-jwt) with a fixed audience, so a session cookie (another key and no
 * such audience) can never pass for one. Exact topic names only: a token for `video:a` grants
 * nothing else. It is valid for hours, so a standard EventSource can keep reconnecting with the URL
 * it was given; after that a node answers 401 and the project's client fetches a new one.
 *
 * fast-jwt rather than jose (which the web's sessions use): a node checks a token per connect, and
 * in a reconnect storm thousands per second; fast-jwt verifies synchronously with node:crypto
 * (9 µs a token against jose's 83 µs; BENCHMARKS.md, connect-auth).
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
  /** An account's name, shown in presence; absent for a guest. */
  name: PresenceNameSchema.optional(),
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
  /** The account's name (presence lists and events show it); none for a guest. */
  name?: string | undefined;
}

export class ConnectTokens {
  private readonly verifier: (token: string) => unknown;

  constructor(private readonly secret: string) {
    this.verifier = createVerifier({
      key: secret,
      algorithms: ['HS256'],
      allowedAud: CONNECT_TOKEN_AUDIENCE,
      requiredClaims: ['exp', 'sub', 'aud'],
      // No cache: most tokens a node sees are new (a page load mints one), and fast-jwt's cache
      // makes every miss three times dearer (a forged token 167 µs instead of 51).
    });
  }

  /**
   * A token for `grant`, and when it expires (ms since the epoch). `now` (tests) signs as of
   * another time; otherwise a signer per lifetime is made once and reused.
   */
  sign(
    grant: ConnectGrant,
    ttlSeconds = CONNECT_TOKEN_TTL_SECONDS,
    now?: number,
  ): { token: string; expiresAt: number } {
    const signer = now === undefined ? this.signerFor(ttlSeconds) : this.makeSigner(ttlSeconds, now);
    const issuedAt = Math.floor((now ?? Date.now()) / 1000);
    const token = signer({
      sub: grant.viewerId,
      topics: [...grant.topics],
      observe: [...grant.observe],
      ...(grant.name === undefined ? {} : { name: grant.name }),
    });
    return { token, expiresAt: (issuedAt + ttlSeconds) * 1000 };
  }

  private readonly signers = new Map<number, SignToken>();

  private signerFor(ttlSeconds: number): SignToken {
    let signer = this.signers.get(ttlSeconds);
    if (!signer) {
      signer = this.makeSigner(ttlSeconds);
      this.signers.set(ttlSeconds, signer);
    }
    return signer;
  }

  private makeSigner(ttlSeconds: number, now?: number): SignToken {
    return createSigner({
      key: this.secret,
      algorithm: 'HS256',
      aud: CONNECT_TOKEN_AUDIENCE,
      expiresIn: ttlSeconds * 1000,
      ...(now === undefined ? {} : { clockTimestamp: now }),
    });
  }

  /** The grant of a valid token; a 401 AppError naming why otherwise (expired, forged, malformed). */
  verify(token: string): ConnectGrant & { expiresAt: number } {
    if (token.length > MAX_CONNECT_TOKEN_LENGTH) throw unauthorized('the connection token is too long');
    // Every token this tier signs starts with the same header: anything else is refused before
    // any decoding or HMAC (garbage costs a comparison).
    if (!token.startsWith(SIGNED_HEADER)) throw unauthorized('the connection token is not valid');
    let payload: unknown;
    try {
      payload = this.verifier(token);
    } catch (error) {
      if (error instanceof TokenError && error.code === TokenError.codes.expired) {
        throw unauthorized('the connection token has expired; get a new one');
      }
      throw unauthorized('the connection token is not valid');
    }
    const claims = GrantClaimsSchema.safeParse(payload);
    if (!claims.success) throw unauthorized('the connection token is not valid');
    return {
      viewerId: claims.data.sub,
      topics: claims.data.topics,
      observe: claims.data.observe,
      name: claims.data.name,
      expiresAt: claims.data.exp * 1000,
    };
  }
}

/** A synchronous signer (fast-jwt's, with a string key). */
type SignToken = (payload: Record<string, unknown>) => string;

/** The encoded JOSE header of every token `sign` makes, and its separator. */
const SIGNED_HEADER = `${Buffer.from(JSON.stringify({ alg: 'HS256', typ: 'JWT' })).toString('base64url')}.`;

function unauthorized(message: string): AppError {
  return new AppError('UNAUTHORIZED', message);
}
