import { randomTag, type TUser, UserSchema } from '@ovation/shared';
import { jwtVerify, SignJWT } from 'jose';
import { SESSION_MAX_AGE_MS } from './store/store';

/*
 * Guest sessions: a display name becomes a user id and a signed JWT (HS256, jose) in an httpOnly
 * cookie. The signature is the session; each one also has an id (`jti`), and signing out stores
 * that id as revoked until the token would have expired anyway (store.revokeSession), so a copied
 * cookie stops working at sign-out. Renaming keeps the user id (and so the user's videos).
 */

export const SESSION_COOKIE = 'ovation_session';
const MAX_AGE_SECONDS = SESSION_MAX_AGE_MS / 1000;

/** What a verified session cookie names. */
export interface Session {
  user: TUser;
  /** The token's `jti`; tokens signed before sessions had ids are named by subject and issue time. */
  id: string;
  expiresAtMs: number;
}

export interface Revocations {
  isSessionRevoked(sessionId: string): Promise<boolean>;
}

export class Sessions {
  private readonly key: Uint8Array;

  constructor(
    secret: string,
    private readonly secure: boolean,
    private readonly revocations: Revocations,
  ) {
    this.key = new TextEncoder().encode(secret);
  }

  newUser(name: string): TUser {
    return { id: `u-${randomTag(8)}`, name };
  }

  async sign(user: TUser): Promise<string> {
    return new SignJWT({ name: user.name })
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject(user.id)
      .setJti(`s-${randomTag(12)}`)
      .setIssuedAt()
      .setExpirationTime(`${MAX_AGE_SECONDS}s`)
      .sign(this.key);
  }

  /** The user of a session cookie value, or undefined when missing, forged, expired or signed out. */
  async verify(token: string | undefined): Promise<TUser | undefined> {
    return (await this.session(token))?.user;
  }

  /**
   * The session of a cookie value. Only HS256 with our key passes (jose refuses `alg: none` and
   * any other algorithm); a store that cannot say whether the id is revoked fails the request
   * (503), it never lets a signed-out session through.
   */
  async session(token: string | undefined): Promise<Session | undefined> {
    if (!token) return undefined;
    let session: Session;
    try {
      const { payload } = await jwtVerify(token, this.key, { algorithms: ['HS256'] });
      const user = UserSchema.safeParse({ id: payload.sub, name: payload.name });
      if (!user.success || payload.exp === undefined) return undefined;
      session = {
        user: user.data,
        id: payload.jti ?? `${payload.sub}.${payload.iat}`,
        expiresAtMs: payload.exp * 1000,
      };
    } catch {
      return undefined;
    }
    return (await this.revocations.isSessionRevoked(session.id)) ? undefined : session;
  }

  cookie(token: string): string {
    return this.cookieWith(`${SESSION_COOKIE}=${token}`, MAX_AGE_SECONDS);
  }

  /** Removes the session cookie from the browser. */
  clearCookie(): string {
    return this.cookieWith(`${SESSION_COOKIE}=`, 0);
  }

  private cookieWith(value: string, maxAge: number): string {
    const parts = [value, 'Path=/', 'HttpOnly', 'SameSite=Lax', `Max-Age=${maxAge}`];
    if (this.secure) parts.push('Secure');
    return parts.join('; ');
  }
}

/** The session cookie's value in a request. */
export function sessionToken(request: Request): string | undefined {
  const header = request.headers.get('cookie');
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const [key, ...rest] = part.trim().split('=');
    if (key === SESSION_COOKIE) return rest.join('=');
  }
  return undefined;
}
