import type { TComment, TUser, TVideo } from '@ovation/shared';

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

async function call<T>(path: string, init: { method?: string; body?: unknown } = {}): Promise<T> {
  const response = await fetch(path, {
    method: init.method ?? 'GET',
    headers: init.body === undefined ? {} : { 'content-type': 'application/json' },
    ...(init.body === undefined ? {} : { body: JSON.stringify(init.body) }),
    credentials: 'same-origin',
  });
  const text = await response.text();
  const body = text ? (JSON.parse(text) as unknown) : undefined;
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

export const api = {
  session: () => call<{ user: TUser | null }>('/api/session'),
  signIn: (name: string) => call<{ user: TUser }>('/api/session', { method: 'POST', body: { name } }),
  videos: () => call<{ videos: TVideo[] }>('/api/videos'),
  video: (id: string) => call<{ video: TVideo }>(`/api/videos/${encodeURIComponent(id)}`),
  comments: (id: string) => call<{ comments: TComment[] }>(`/api/videos/${encodeURIComponent(id)}/comments?limit=50`),
  like: (id: string, count: number) =>
    call<{ total: number }>(`/api/videos/${encodeURIComponent(id)}/likes`, { method: 'POST', body: { count } }),
  comment: (id: string, text: string) =>
    call<{ comment: TComment }>(`/api/videos/${encodeURIComponent(id)}/comments`, { method: 'POST', body: { text } }),
};
