import type { TComment, TUser, TVideo, TVideoStats } from '@ovation/shared';

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

export const api = {
  session: () => call<{ user: TUser | null }>('/api/session'),
  signIn: (name: string) => call<{ user: TUser }>('/api/session', { method: 'POST', body: { name } }),
  /** Clears the cookie and revokes the session on the server. */
  signOut: () => call<{ user: null }>('/api/session', { method: 'DELETE' }),
  /** The first page (live, then the caller's upcoming, then ended); `next` names the following one. */
  videos: () => call<{ videos: TVideo[]; next: string | null }>('/api/videos'),
  video: (id: string) => call<{ video: TVideo }>(`/api/videos/${encodeURIComponent(id)}`),
  comments: (id: string) => call<{ comments: TComment[] }>(`/api/videos/${encodeURIComponent(id)}/comments?limit=50`),
  // Writes that are not idempotent by themselves take an Idempotency-Key (one per user action).
  like: (id: string, count: number, idempotencyKey?: string) =>
    call<{ total: number }>(`/api/videos/${encodeURIComponent(id)}/likes`, {
      method: 'POST',
      body: { count },
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
};
