/*
 * A publishing load-generator process for the `dispatch` scenario: `concurrency` requests in
 * flight against POST /publish, each carrying `batch` events over `topics`, for `seconds`.
 * Parent → { url, token, batch, concurrency, seconds, topics }; worker → { events, requests, refused, errors }.
 */
import { Pool } from 'undici';

/** What a worker reports when its time is up. */
export interface PublisherResult {
  events: number;
  requests: number;
  refused: number;
  errors: number;
}

interface Start {
  url: string;
  token: string;
  batch: number;
  concurrency: number;
  seconds: number;
  topics: string[];
}

process.once('message', async (message: Start) => {
  const pool = new Pool(message.url, { connections: message.concurrency, pipelining: 1 });
  const end = performance.now() + message.seconds * 1000;
  let events = 0;
  let requests = 0;
  let refused = 0;
  let errors = 0;
  let n = 0;
  const loop = async () => {
    while (performance.now() < end) {
      const body = JSON.stringify({
        events: Array.from({ length: message.batch }, () => ({
          topic: message.topics[n++ % message.topics.length],
          type: 'comment',
          data: { n, text: 'benchmark comment of a typical length, about sixty chars' },
        })),
      });
      try {
        const response = await pool.request({
          path: '/publish',
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${message.token}` },
          body,
        });
        await response.body.dump();
        requests++;
        if (response.statusCode === 202) events += message.batch;
        else {
          // 503 is the dispatcher's backpressure: back off a little, as a real publisher would.
          refused += message.batch;
          await new Promise((resolve) => setTimeout(resolve, 10));
        }
      } catch {
        errors++;
      }
    }
  };
  await Promise.all(Array.from({ length: message.concurrency }, loop));
  await pool.close();
  process.send?.({ events, requests, refused, errors });
  process.exit(0);
});
