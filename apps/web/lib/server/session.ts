import { randomTag, type TUser, UserSchema } from '@ovation/shared';
import { jwtVerify, SignJWT } from 'jose';
import type { ResponseCookie } from 'next/dist/compiled/@edge-runtime/cookies';
import { RequestCookies } from 'next/dist/server/web/spec-extension/cookies';
import { SESSION_MAX_AGE_MS } from './store/store';

/*
 * Guest sessions: a display name becomes a user id and a signed JWT (HS256, jose) in an httpOnly
 * cookie. The signature is the session; each token also has an id (`jti`) and belongs to a
 * session family (`sid`: the id of the sign-in it descends from). Renaming keeps the user id (and
 * so the user's videos) and the family, and never extends the family's lifetime; signing out
 * revokes the whole family until it would have expired anyway (store.revokeSession), so every
 * copy of the cookie — a thief's renamed one included — stops working at sign-out.
 *
 * An account's session (issue 16: signed in with a passkey) is a token of the same kind with the
 * claim `acc: 1`. It is valid only while the account lists its family as open (AccountStore
 * sessions): the holder sees and ends each sign-in there, and the name shown is the account's
 * current one, whatever the token says.
 *
 * The cookie is read and written with Next's cookie API (the parser and serialiser behind
 * `cookies()`, `request.cookies` and `NextResponse.cookies`): HttpOnly, SameSite=Lax, Path=/,
 * Max-Age (with the matching Expires Next adds), Secure when served over HTTPS.
 */

/**
 * The cookie's name. Served over HTTPS (production) it carries the `__Host-` prefix: browsers then
 * take it only with Secure, Path=/ and no Domain, from a secure origin — so a sibling subdomain or
 * a plain-http answer on the network cannot plant or shadow one (session fixation: a victim signed
 * in under the attacker's account, whose videos the attacker then controls).
 */
export function sessionCookieName(secure: boolean): string {
  return secure ? '__Host-ovation_session' : 'ovation_session';
}
const MAX_AGE_SECONDS = SESSION_MAX_AGE_MS / 1000;

/** What a verified session cookie names. */
export interface Session {
  user: TUser;
  /** The token's `jti`; tokens signed before sessions had ids are named by subject and issue time. */
  id: string;
  /** The session family (`sid`): the first token's id, kept by renames. Sign-out revokes it. */
  family: string;
  expiresAtMs: number;
  /** An account's session (signed in with a passkey), not a guest's. */
  account: boolean;
  /** An account's session: when a passkey was last checked in it (sign-in or confirmation). */
  verifiedAtMs?: number;
}

export interface Revocations {
  isSessionRevoked(sessionId: string): Promise<boolean>;
}

/** Whether an account's session is open (AccountStore.sessionHolder). */
export interface AccountSessions {
  sessionHolder(
    userId: string,
    sessionId: string,
    nowMs: number,
  ): Promise<{ name: string; verifiedAtMs: number } | undefined>;
}

export class Sessions {
  private readonly key: Uint8Array;

  /** The session cookie's name here (sessionCookieName). */
  readonly cookieName: string;

  constructor(
    secret: string,
    private readonly secure: boolean,
    private readonly revocations: Revocations,
    private readonly accounts: AccountSessions,
  ) {
    this.key = new TextEncoder().encode(secret);
    this.cookieName = sessionCookieName(secure);
  }

  newUser(name: string): TUser {
    return { id: `u-${randomTag(8)}`, name };
  }

  /** A new session id: a sign-in's token id, and so its family's. */
  newSessionId(): string {
    return `s-${randomTag(12)}`;
  }

  /**
   * A session token for `user`: a new sign-in, or (`family`) a rename within an existing session,
   * which keeps its family and its expiry. `account`: an account's session, whose family the
   * account has opened (AccountStore.openSession) — `family.id` then names it.
   */
  async sign(user: TUser, family?: { id: string; expiresAtMs: number }, account = false): Promise<string> {
    const id = this.newSessionId();
    return new SignJWT({ name: user.name, sid: family?.id ?? id, ...(account ? { acc: 1 } : {}) })
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject(user.id)
      .setJti(id)
      .setIssuedAt()
      .setExpirationTime(family ? Math.floor(family.expiresAtMs / 1000) : `${MAX_AGE_SECONDS}s`)
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
      const id = payload.jti ?? `${payload.sub}.${payload.iat}`;
      session = {
        user: user.data,
        id,
        family: typeof payload.sid === 'string' ? payload.sid : id,
        expiresAtMs: payload.exp * 1000,
        account: payload.acc === 1,
      };
    } catch {
      return undefined;
    }
    if (session.account) {
      const holder = await this.accounts.sessionHolder(session.user.id, session.family, Date.now());
      return holder
        ? { ...session, user: { id: session.user.id, name: holder.name }, verifiedAtMs: holder.verifiedAtMs }
        : undefined;
    }
    const revoked =
      (await this.revocations.isSessionRevoked(session.family)) ||
      (session.family !== session.id && (await this.revocations.isSessionRevoked(session.id)));
    return revoked ? undefined : session;
  }

  /**
   * The cookie for a token, for `NextResponse.cookies.set`; `expiresAtMs`: a rename's, which lives
   * as long as its family.
   */
  cookie(token: string, expiresAtMs?: number): ResponseCookie {
    const maxAge =
      expiresAtMs === undefined ? MAX_AGE_SECONDS : Math.max(0, Math.floor((expiresAtMs - Date.now()) / 1000));
    return this.cookieWith(token, maxAge);
  }

  /** Removes the session cookie from the browser. */
  clearCookie(): ResponseCookie {
    return this.cookieWith('', 0);
  }

  private cookieWith(value: string, maxAge: number): ResponseCookie {
    return { name: this.cookieName, value, path: '/', httpOnly: true, sameSite: 'lax', maxAge, secure: this.secure };
  }

  /**
   * The session cookie's value in a request. Read from the headers (what `request.cookies` parses),
   * so that it works on any Request: the API's tests call the handlers as plain functions.
   */
  tokenOf(request: Request): string | undefined {
    return new RequestCookies(request.headers).get(this.cookieName)?.value;
  }
}
