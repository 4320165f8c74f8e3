import { randomTag, type TUser, UserSchema } from '@ovation/shared';
import { jwtVerify, SignJWT } from 'jose';

/*
 * Guest sessions: a display name becomes a user id and a signed JWT (HS256, jose) in an httpOnly
 * cookie. Nothing is stored server-side; the signature is the session.
 */

export const SESSION_COOKIE = 'ovation_session';
const MAX_AGE_SECONDS = 30 * 24 * 3600;

export class Sessions {
  private readonly key: Uint8Array;

  constructor(
    secret: string,
    private readonly secure: boolean,
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
      .setIssuedAt()
      .setExpirationTime(`${MAX_AGE_SECONDS}s`)
      .sign(this.key);
  }

  /** The user of a session cookie value, or undefined when missing, forged or expired. */
  async verify(token: string | undefined): Promise<TUser | undefined> {
    if (!token) return undefined;
    try {
      const { payload } = await jwtVerify(token, this.key, { algorithms: ['HS256'] });
      const user = UserSchema.safeParse({ id: payload.sub, name: payload.name });
      return user.success ? user.data : undefined;
    } catch {
      return undefined;
    }
  }

  cookie(token: string): string {
    const parts = [`${SESSION_COOKIE}=${token}`, 'Path=/', 'HttpOnly', 'SameSite=Lax', `Max-Age=${MAX_AGE_SECONDS}`];
    if (this.secure) parts.push('Secure');
    return parts.join('; ');
  }
}
