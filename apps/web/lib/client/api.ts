import type {
  TAccount,
  TComment,
  TIngestInfo,
  TPasskeyInfo,
  TPresenceList,
  TReaction,
  TReactionCounts,
  TSessionInfo,
  TUser,
  TVideo,
  TVideoStats,
} from '@ovation/shared';
import {
  type PublicKeyCredentialCreationOptionsJSON,
  type PublicKeyCredentialRequestOptionsJSON,
  startAuthentication,
  startRegistration,
  WebAuthnError,
} from '@simplewebauthn/browser';

/** The product API from the browser. Errors carry the server's code and message. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly retryAfterSeconds?: number,
  ) {
    super(message);
  }
}

async function call<T>(
  path: string,
  init: { method?: string; body?: unknown; idempotencyKey?: string | undefined } = {},
): Promise<T> {
  const headers: Record<string, string> = {};
  if (init.body !== undefined) headers['content-type'] = 'application/json';
  if (init.idempotencyKey !== undefined) headers['idempotency-key'] = init.idempotencyKey;
  const response = await fetch(path, {
    method: init.method ?? 'GET',
    headers,
    ...(init.body === undefined ? {} : { body: JSON.stringify(init.body) }),
    credentials: 'same-origin',
  });
  const text = await response.text();
  const body = parseJson(text);
  if (!response.ok) {
    const error = (body as { error?: { code?: string; message?: string } } | undefined)?.error;
    const retry = Number(response.headers.get('retry-after'));
    throw new ApiError(
      response.status,
      error?.code ?? 'ERROR',
      error?.message ?? response.statusText,
      retry || undefined,
    );
  }
  return body as T;
}

/** A proxy in front of the app may answer an outage with HTML: then there is no error body. */
function parseJson(text: string): unknown {
  try {
    return text ? (JSON.parse(text) as unknown) : undefined;
  } catch {
    return undefined;
  }
}

/** The session as GET /api/session tells it: `account` only when signed in with one. */
export interface SessionState {
  user: TUser | null;
  account?: TAccount;
}

type SignedIn = { user: TUser; account: TAccount };

/**
 * What went wrong in the browser's passkey prompt, in words: cancelled, not allowed here (an IP
 * address origin), or already registered on this device.
 */
export function passkeyProblem(error: unknown): string {
  if (error instanceof ApiError) return error.message;
  if (error instanceof WebAuthnError) {
    if (error.code === 'ERROR_INVALID_DOMAIN') {
      return 'Passkeys need a named address: open this page at http://localhost:… (not an IP address) or its domain.';
    }
    if (error.code === 'ERROR_AUTHENTICATOR_PREVIOUSLY_REGISTERED')
      return 'This device holds a passkey of this account already.';
    if (error.code === 'ERROR_CEREMONY_ABORTED') return 'The passkey prompt was closed.';
  }
  if (error instanceof Error && error.name === 'NotAllowedError')
    return 'The passkey prompt was cancelled or timed out.';
  return error instanceof Error ? error.message : 'The passkey could not be used.';
}

/** Sign-up: the server's options, the browser's passkey prompt, the server's check. */
async function signUp(name: string, handle: string): Promise<SignedIn> {
  const { ceremony, options } = await call<{ ceremony: string; options: PublicKeyCredentialCreationOptionsJSON }>(
    '/api/auth/register/options',
    { method: 'POST', body: { name, handle } },
  );
  const credential = await startRegistration({ optionsJSON: options });
  return call<SignedIn>('/api/auth/register/verify', { method: 'POST', body: { ceremony, credential } });
}

async function signInWithPasskey(): Promise<SignedIn> {
  const { ceremony, options } = await call<{ ceremony: string; options: PublicKeyCredentialRequestOptionsJSON }>(
    '/api/auth/login/options',
    { method: 'POST' },
  );
  const credential = await startAuthentication({ optionsJSON: options });
  return call<SignedIn>('/api/auth/login/verify', { method: 'POST', body: { ceremony, credential } });
}

/** Confirms the signed-in account's passkey (asked before changing its ways in). */
async function confirmPasskey(): Promise<void> {
  const { ceremony, options } = await call<{ ceremony: string; options: PublicKeyCredentialRequestOptionsJSON }>(
    '/api/auth/reauth/options',
    { method: 'POST' },
  );
  const credential = await startAuthentication({ optionsJSON: options });
  await call('/api/auth/reauth/verify', { method: 'POST', body: { ceremony, credential } });
}

/**
 * Runs an action that changes the account's ways in (passkeys, other sessions); when the server
 * asks for the passkey again (REAUTH_REQUIRED: none checked in the last 10 minutes), confirms it
 * and runs the action once more.
 */
async function withPasskeyConfirmed<T>(action: () => Promise<T>): Promise<T> {
  try {
    return await action();
  } catch (error) {
    if (!(error instanceof ApiError && error.code === 'REAUTH_REQUIRED')) throw error;
    await confirmPasskey();
    return action();
  }
}

async function addPasskey(): Promise<{ passkey: TPasskeyInfo }> {
  const { ceremony, options } = await call<{ ceremony: string; options: PublicKeyCredentialCreationOptionsJSON }>(
    '/api/account/passkeys/options',
    { method: 'POST' },
  );
  const credential = await startRegistration({ optionsJSON: options });
  return call('/api/account/passkeys/verify', { method: 'POST', body: { ceremony, credential } });
}

export const api = {
  session: () => call<SessionState>('/api/session'),
  signUp,
  signInWithPasskey,
  account: () => call<{ account: TAccount; passkeys: TPasskeyInfo[] }>('/api/account'),
  renameAccount: (name: string) => call<{ account: TAccount }>('/api/account', { method: 'PATCH', body: { name } }),
  addPasskey: () => withPasskeyConfirmed(addPasskey),
  removePasskey: (id: string) =>
    withPasskeyConfirmed(() =>
      call<{ removed: true }>(`/api/account/passkeys/${encodeURIComponent(id)}`, { method: 'DELETE' }),
    ),
  sessions: () => call<{ sessions: TSessionInfo[] }>('/api/auth/sessions'),
  endSession: (id: string) =>
    withPasskeyConfirmed(() =>
      call<{ ended: true }>(`/api/auth/sessions/${encodeURIComponent(id)}`, { method: 'DELETE' }),
    ),
  signIn: (name: string) => call<{ user: TUser }>('/api/session', { method: 'POST', body: { name } }),
  /** Clears the cookie and ends the session on the server (a guest's or an account's). */
  signOut: () => call<{ user: null }>('/api/auth/logout', { method: 'POST' }),
  /** The first page (live, then the caller's upcoming, then ended); `next` names the following one. */
  videos: () => call<{ videos: TVideo[]; next: string | null }>('/api/videos'),
  video: (id: string) => call<{ video: TVideo }>(`/api/videos/${encodeURIComponent(id)}`),
  comments: (id: string) => call<{ comments: TComment[] }>(`/api/videos/${encodeURIComponent(id)}/comments?limit=50`),
  // Writes that are not idempotent by themselves take an Idempotency-Key (one per user action).
  like: (id: string, count: number, idempotencyKey?: string, reaction: TReaction = 'like') =>
    call<{ total: number; totals: TReactionCounts }>(`/api/videos/${encodeURIComponent(id)}/likes`, {
      method: 'POST',
      body: { count, reaction },
      idempotencyKey,
    }),
  comment: (id: string, text: string, idempotencyKey?: string) =>
    call<{ comment: TComment }>(`/api/videos/${encodeURIComponent(id)}/comments`, {
      method: 'POST',
      body: { text },
      idempotencyKey,
    }),
  // The studio (owner only on the server side).
  myVideos: () => call<{ videos: TVideo[] }>('/api/videos?owner=me'),
  createVideo: (title: string, hlsUrl: string | undefined, idempotencyKey?: string) =>
    call<{ video: TVideo }>('/api/videos', {
      method: 'POST',
      body: hlsUrl ? { title, hlsUrl } : { title },
      idempotencyKey,
    }),
  updateVideo: (id: string, update: { membersOnlyComments: boolean }) =>
    call<{ video: TVideo }>(`/api/videos/${encodeURIComponent(id)}`, { method: 'PATCH', body: update }),
  ingest: (id: string) => call<TIngestInfo>(`/api/videos/${encodeURIComponent(id)}/ingest`),
  rotateIngestKey: (id: string) =>
    call<TIngestInfo>(`/api/videos/${encodeURIComponent(id)}/ingest/rotate`, { method: 'POST' }),
  start: (id: string) => call<{ video: TVideo }>(`/api/videos/${encodeURIComponent(id)}/start`, { method: 'POST' }),
  end: (id: string) => call<{ video: TVideo }>(`/api/videos/${encodeURIComponent(id)}/end`, { method: 'POST' }),
  deleteComment: (id: string, commentId: string) =>
    call<{ deleted: true }>(`/api/videos/${encodeURIComponent(id)}/comments/${encodeURIComponent(commentId)}`, {
      method: 'DELETE',
    }),
  bans: (id: string) => call<{ bans: TUser[] }>(`/api/videos/${encodeURIComponent(id)}/bans`),
  ban: (id: string, user: TUser) =>
    call<{ ban: TUser }>(`/api/videos/${encodeURIComponent(id)}/bans`, {
      method: 'POST',
      body: { userId: user.id, name: user.name },
    }),
  unban: (id: string, userId: string) =>
    call<{ unbanned: true }>(`/api/videos/${encodeURIComponent(id)}/bans/${encodeURIComponent(userId)}`, {
      method: 'DELETE',
    }),
  stats: (id: string) => call<TVideoStats>(`/api/videos/${encodeURIComponent(id)}/stats`),
  /** Whether each user (at most 100) is watching the video. */
  online: (users: readonly string[], videoId: string) =>
    call<{ online: Record<string, boolean> }>(
      `/api/presence?${new URLSearchParams({ users: users.join(','), videoId })}`,
    ),
  /** Who is watching the owner's video: one page, from the previous one's `next`. */
  watchers: (id: string, cursor?: string) =>
    call<TPresenceList>(
      `/api/videos/${encodeURIComponent(id)}/presence?${new URLSearchParams({ limit: '50', ...(cursor ? { cursor } : {}) })}`,
    ),
};
