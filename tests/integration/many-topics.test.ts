import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getJson, postJson } from '../../test-support/http.js';
import { waitFor } from '../../test-support/poll.js';
import { TestRedis } from '../../test-support/redis-server.js';
import { ServiceProcess, TEST_TOKEN } from '../../test-support/services.js';
import { TestViewer } from '../../test-support/sse-client.js';

/*
 * A node holding 100,000 distinct topics (1,563 connections × 64 topics of 60 characters) stays
 * registered, keeps delivering, and registers all of them again after Redis restarts empty.
 * Before node messages were cut into parts, the node's one-body heartbeat passed the dispatcher's
 * 64 KiB limit at ~2,560 topics: 413, the node left the registry, publishes still answered 202.
 */

const CONNECTIONS = 1563;
const PER_CONNECTION = 64;
const HEARTBEAT_MS = 300;
let redis: TestRedis;
let dispatcher: ServiceProcess;
let node: ServiceProcess;
const viewers: TestViewer[] = [];

const topicOf = (c: number, t: number) =>
  `video:many-${String(c).padStart(5, '0')}-${String(t).padStart(2, '0')}-`.padEnd(60, 'x');

beforeAll(async () => {
  redis = await TestRedis.start();
  dispatcher = await ServiceProcess.start('dispatcher', {
    REDIS_URL: redis.url,
    NODE_TTL_MS: String(HEARTBEAT_MS * 5),
  });
  node = await ServiceProcess.start('realtime', {
    DISPATCHER_URLS: dispatcher.url,
    NODE_HEARTBEAT_MS: String(HEARTBEAT_MS),
    MAX_CONNECTIONS: String(CONNECTIONS + 100),
    // Every viewer comes from 127.0.0.1: past the per-address default of 1,000.
    MAX_CONNECTIONS_PER_IP: String(CONNECTIONS + 100),
  });
}, 60_000);

afterAll(async () => {
  for (const viewer of viewers) viewer.close();
  await Promise.all([node, dispatcher].map((s) => s?.kill('SIGKILL')));
  await redis?.stop();
});

const viewersOf = async (topic: string) =>
  ((await getJson(`${dispatcher.url}/topics/${topic}/viewers`)).body as { count: number }).count;

/** Publishes one comment to each topic; the statuses. */
async function publishTo(topics: readonly string[], round: string): Promise<number[]> {
  const statuses: number[] = [];
  for (const topic of topics) {
    const response = await postJson(
      `${dispatcher.url}/publish`,
      { topic, type: 'comment', data: { round } },
      { authorization: `Bearer ${TEST_TOKEN}` },
    );
    statuses.push(response.status);
  }
  return statuses;
}

/** Every sampled viewer got its topic's comment of `round`. */
function delivered(sample: ReadonlyArray<{ viewer: TestViewer; topic: string }>, round: string): boolean {
  return sample.every(({ viewer, topic }) =>
    viewer.events('comment').some((e) => e.topic === topic && e.data.round === round),
  );
}

describe('a node with 100,000 topics', () => {
  it('stays registered and delivering, and registers them all again after Redis restarts empty', async () => {
    for (let start = 0; start < CONNECTIONS; start += 100) {
      const batch = Array.from({ length: Math.min(100, CONNECTIONS - start) }, (_, i) => {
        const c = start + i;
        const topics = Array.from({ length: PER_CONNECTION }, (_, t) => topicOf(c, t)).join(',');
        return TestViewer.connect(`${node.url}/connect?topics=${topics}`);
      });
      viewers.push(...(await Promise.all(batch)));
    }
    expect(viewers).toHaveLength(CONNECTIONS);
    const sample = Array.from({ length: 60 }, (_, i) => {
      const c = Math.floor((i * CONNECTIONS) / 60);
      return { viewer: viewers[c] as TestViewer, topic: topicOf(c, (i * 7) % PER_CONNECTION) };
    });

    // Several heartbeats later the node is still registered for every topic, and delivers.
    const heartbeatsFrom = Date.now();
    await waitFor('three more heartbeats', () => Date.now() - heartbeatsFrom > HEARTBEAT_MS * 3);
    // Healthy means a call to the tier within three heartbeats: on a loaded 2-core machine a
    // heartbeat of a node this size can be late, so health is polled (registration is checked below).
    await waitFor('the node healthy', async () => (await getJson(`${node.url}/healthz`)).status === 200, {
      timeoutMs: 10_000,
    });
    for (const { topic } of sample) expect(await viewersOf(topic)).toBe(1);
    expect(
      (
        await publishTo(
          sample.map((s) => s.topic),
          'live',
        )
      ).every((s) => s === 202),
    ).toBe(true);
    await waitFor('every sampled viewer to get its comment', () => delivered(sample, 'live'), { timeoutMs: 10_000 });

    // Redis loses everything: the node syncs its 100,000 topics again, in parts.
    await redis.restart();
    const restartedAt = Date.now();
    let accepted: number[] = [];
    await waitFor(
      'publishes accepted again',
      async () => {
        accepted = await publishTo(
          sample.map((s) => s.topic),
          'after-restart',
        );
        return accepted.every((s) => s === 202);
      },
      { timeoutMs: 30_000, intervalMs: 200 },
    );
    const recoveredMs = Date.now() - restartedAt;
    await waitFor(
      'every sampled viewer to get the comment after the restart',
      () => delivered(sample, 'after-restart'),
      {
        timeoutMs: 10_000,
      },
    );
    for (const { topic } of sample) expect(await viewersOf(topic)).toBe(1);
    console.log(
      `100,000 topics on one node: registry back and delivering ${recoveredMs} ms after Redis restarted empty`,
    );
  }, 180_000);
});
