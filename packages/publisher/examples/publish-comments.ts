/*
 * A backend that publishes into Ovation: likes batched as they come, a comment, a status change
 * sent as one request with a key of its own.
 *
 *   DISPATCHER_URLS=http://127.0.0.1:4000 INTERNAL_TOKEN=dev-internal-token \
 *     node examples/publish-comments.ts      (Node 23.6 or later runs TypeScript as is)
 */
import { events, PublishError, Publisher } from '@ovation/publisher';

const publisher = new Publisher({
  urls: (process.env.DISPATCHER_URLS ?? 'http://127.0.0.1:4000').split(','),
  token: process.env.INTERNAL_TOKEN ?? 'dev-internal-token',
});

const videoId = 'demo';

// Queued: the three likes go to the dispatcher as one batch, one Idempotency-Key for it.
const likes = await Promise.all([1, 2, 3].map(() => publisher.publish(events.like(videoId, { count: 1 }))));
console.log('likes', likes);

// An event key of its own: publishing the same comment again (after a crash, say) is not delivered twice.
const comment = {
  id: 'c-1',
  videoId,
  author: { id: 'u-1', name: 'Ann' },
  text: 'Hello from a backend',
  at: new Date().toISOString(),
};
console.log('comment', await publisher.publish(events.comment(comment, { key: `example:comment:${comment.id}` })));

// One request now, on two topics, under a key derived from the change.
try {
  const ids = await publisher.send(
    [events.status(videoId, 'live'), events.status(videoId, 'live', { topic: 'videos' })],
    { idempotencyKey: `example:status:${videoId}:live` },
  );
  console.log('status', ids);
} catch (error) {
  if (!(error instanceof PublishError)) throw error;
  console.error(`not published: ${error.code} ${error.message}`, error.retryAfterMs ?? '');
}

await publisher.close();
