import { expect, test } from '@playwright/test';

/* The product API over HTTP (no browser), against the two-region topology. */

test('a session, a live video, a like and a comment — and the contract errors', async ({ playwright, baseURL }) => {
  const owner = await playwright.request.newContext({ baseURL });
  const other = await playwright.request.newContext({ baseURL });
  const anonymous = await playwright.request.newContext({ baseURL });
  try {
    expect((await owner.post('/api/session', { data: { name: 'API owner' } })).status()).toBe(200);
    expect((await other.post('/api/session', { data: { name: 'API other' } })).status()).toBe(200);
    const created = await owner.post('/api/videos', { data: { title: 'API video' } });
    expect(created.status()).toBe(201);
    const { video } = (await created.json()) as { video: { id: string; status: string } };
    expect(video.status).toBe('upcoming');

    const errorOf = async (response: Awaited<ReturnType<typeof owner.get>>) =>
      [response.status(), ((await response.json()) as { error: { code: string } }).error.code] as const;
    expect(await errorOf(await other.post(`/api/videos/${video.id}/start`))).toEqual([403, 'FORBIDDEN']);
    expect(await errorOf(await anonymous.post(`/api/videos/${video.id}/start`))).toEqual([401, 'UNAUTHORIZED']);
    expect(await errorOf(await other.post(`/api/videos/${video.id}/likes`, { data: {} }))).toEqual([409, 'CONFLICT']);
    expect((await owner.post(`/api/videos/${video.id}/start`)).status()).toBe(200);

    expect((await other.post(`/api/videos/${video.id}/likes`, { data: { count: 3 } })).status()).toBe(202);
    expect(await errorOf(await other.post(`/api/videos/${video.id}/likes`, { data: { count: 51 } }))).toEqual([
      400,
      'VALIDATION_FAILED',
    ]);
    expect((await other.post(`/api/videos/${video.id}/comments`, { data: { text: 'hi' } })).status()).toBe(201);
    expect(await errorOf(await other.post(`/api/videos/${video.id}/comments`, { data: { text: ' ' } }))).toEqual([
      400,
      'VALIDATION_FAILED',
    ]);
    expect(
      await errorOf(await other.post(`/api/videos/${video.id}/comments`, { data: { text: 'x'.repeat(70_000) } })),
    ).toEqual([413, 'PAYLOAD_TOO_LARGE']);
    expect(await errorOf(await anonymous.get('/api/videos/no-such-video'))).toEqual([404, 'NOT_FOUND']);

    const { video: after } = (await (await anonymous.get(`/api/videos/${video.id}`)).json()) as {
      video: { likes: number; status: string };
    };
    expect(after).toMatchObject({ likes: 3, status: 'live' });
    const { comments } = (await (await anonymous.get(`/api/videos/${video.id}/comments`)).json()) as {
      comments: Array<{ text: string; author: { name: string } }>;
    };
    expect(comments).toEqual([
      expect.objectContaining({ text: 'hi', author: expect.objectContaining({ name: 'API other' }) }),
    ]);
  } finally {
    await Promise.all([owner.dispose(), other.dispose(), anonymous.dispose()]);
  }
});
