import { timingSafeEqual } from 'node:crypto';
import {
  AppError,
  DEFAULT_BODY_LIMIT_BYTES,
  IdempotencyKeySchema,
  parseWith,
  type TAccount,
  type TUser,
} from '@ovation/shared';
import type { z } from 'zod';
import { context } from './context';
import type { Session } from './session';

/*
 * Helpers that keep route handlers thin: every failure leaves as the contract's
 * `{ error: { code, message } }` with the right status, never a stack trace.
 */

export function json(body: unknown, status = 200, headers: Record<string, string> = {}): Response {
  return Response.json(body, { status, headers });
}

export function errorResponse(error: unknown): Response {
  const appError = error instanceof AppError ? error : new AppError('INTERNAL', 'internal error', { cause: error });
  if (appError.status >= 500 && appError.code === 'INTERNAL') console.error(error);
  const headers: Record<string, string> = {};
  if (appError.retryAfterSeconds !== undefined) headers['retry-after'] = String(appError.retryAfterSeconds);
  return json(appError.toBody(), appError.status, headers);
}

/** Wraps a handler so that anything thrown becomes an error response. */
export function route<A extends unknown[]>(handler: (...args: A) => Promise<Response>) {
  return async (...args: A): Promise<Response> => {
    try {
      return await handler(...args);
    } catch (error) {
      return errorResponse(error);
    }
  };
}

/** Reads a JSON body (64 KiB at most) and validates it. An empty body counts as `{}`. */
export async function readBody<S extends z.ZodType>(request: Request, schema: S): Promise<z.output<S>> {
  const text = await request.text();
  if (Buffer.byteLength(text) > DEFAULT_BODY_LIMIT_BYTES) {
    throw new AppError('PAYLOAD_TOO_LARGE', 'body: larger than the 64 KiB limit');
  }
  let value: unknown = {};
  if (text.trim().length > 0) {
    try {
      value = JSON.parse(text);
    } catch {
      throw new AppError('INVALID_JSON', 'body: not valid JSON');
    }
  }
  return parseWith(schema, value);
}

/** Refuses (401) a request without `Authorization: Bearer <token>`; compared in constant time. */
export function requireBearer(request: Request, token: string, what: string): void {
  const header = request.headers.get('authorization') ?? '';
  const given = Buffer.from(/^Bearer /i.test(header) ? header.slice(7) : '');
  const expected = Buffer.from(token);
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
    throw new AppError('UNAUTHORIZED', `${what} needs Authorization: Bearer <INTERNAL_TOKEN>`);
  }
}

/** The request's `Idempotency-Key` header (validated), or undefined when it has none. */
export function idempotencyKey(request: Request): string | undefined {
  const value = request.headers.get('idempotency-key');
  return value === null ? undefined : parseWith(IdempotencyKeySchema, value, 'headers.Idempotency-Key');
}

export async function currentUser(request: Request): Promise<TUser | undefined> {
  const { sessions } = context();
  return sessions.verify(sessions.tokenOf(request));
}

export async function requireUser(request: Request): Promise<TUser> {
  return (await requireSession(request)).user;
}

/** The request's session (a guest's or an account's); 401 when signed out. */
export async function requireSession(request: Request): Promise<Session> {
  const session = await currentSession(request);
  if (!session) throw new AppError('UNAUTHORIZED', 'sign in with a display name first (POST /api/session)');
  return session;
}

/** The request's session (guest or account), or undefined when signed out. */
export async function currentSession(request: Request): Promise<Session | undefined> {
  const { sessions } = context();
  return sessions.session(sessions.tokenOf(request));
}

/**
 * The signed-in account: 401 when signed out, ACCOUNT_REQUIRED (403) for a guest — the client
 * opens its sign-in dialog.
 */
export async function requireAccount(
  request: Request,
  what = 'this',
): Promise<{ session: Session; account: TAccount }> {
  const session = await currentSession(request);
  if (!session) throw new AppError('UNAUTHORIZED', `sign in with a passkey first: ${what} needs an account`);
  if (!session.account) {
    throw new AppError('ACCOUNT_REQUIRED', `${what} needs an account: sign up or sign in with a passkey`);
  }
  const account = await context().accounts.getAccount(session.user.id);
  if (!account) throw new AppError('UNAUTHORIZED', 'this account no longer exists; sign in again');
  return { session, account };
}

/** A passkey checked this recently in the session lets it change the account's ways in. */
export const REAUTH_WINDOW_MS = 10 * 60_000;

/**
 * The signed-in account, with a passkey checked in this session within REAUTH_WINDOW_MS (its
 * sign-in, or a confirmation: POST /api/auth/reauth/…). Guards what would let a stolen cookie
 * keep the account: adding or removing passkeys, ending other sessions.
 */
export async function requireRecentPasskey(request: Request, what: string) {
  const signedIn = await requireAccount(request, what);
  const at = signedIn.session.verifiedAtMs ?? 0;
  if (!(Date.now() - at <= REAUTH_WINDOW_MS)) {
    throw new AppError(
      'REAUTH_REQUIRED',
      `${what} needs your passkey again: confirm it (POST /api/auth/reauth/options)`,
    );
  }
  return signedIn;
}

/**
 * The user managing a video (its owner's routes check ownership next): an account's session only.
 * A guest's token never manages one, even for an id that became an account (an upgraded guest's
 * old cookie): managing needs the passkey.
 */
export async function requireBroadcaster(request: Request): Promise<TUser> {
  return (await requireAccount(request, 'managing a video')).session.user;
}
