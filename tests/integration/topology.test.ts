import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getJson, metricValue, postJson } from '../../test-support/http.js';
import { waitFor } from '../../test-support/poll.js';
import { TestRedisCluster } from '../../test-support/redis-cluster.js';
import { TestRedis } from '../../test-support/redis-server.js';
import { ServiceProcess, TEST_TOKEN } from '../../test-support/services.js';
import { TestViewer } from '../../test-support/sse-client.js';

/*
 * The delivery pipe as deployed: Redis + 2 dispatchers + 2 realtime nodes, each a real process.
 *
 *   publisher ─▶ dispatcher 1 ─┐            ┌─▶ node A ─▶ viewers
 *   publisher ─▶ dispatcher 2 ─┴─ Redis ────┴─▶ node B ─▶ viewers
 *
 * Redis is one server, then a cluster: every case but the empty restart runs on both.
 */

const NODE_TTL_MS = 2000;
let redis: TestRedis | undefined;
let cluster: TestRedisCluster | undefined;
let d1: ServiceProcess;
let d2: ServiceProcess;
let nodeA: ServiceProcess;
let nodeB: ServiceProcess;
const viewers: TestViewer[] = [];

async function open(node: ServiceProcess, topics: string): Promise<TestViewer> {
  const viewer = await TestViewer.connect(`${node.url}/connect?topics=${topics}`);
  viewers.push(viewer);
  return viewer;
}

async function publish(dispatcher: ServiceProcess, events: Array<{ topic: string; type: string; data: object }>) {
  return postJson(`${dispatcher.url}/publish`, { events }, { authorization: `Bearer ${TEST_TOKEN}` });
}

/** The same pipe on one Redis server and on a Redis Cluster (3 masters, 3 replicas). */
const STORES = [
  { store: 'one Redis server', kind: 'server' },
  { store: 'Redis Cluster', kind: 'cluster' },
] as const;

describe.each(STORES)('topology: $store + 2 dispatchers + 2 realtime nodes', ({ kind }) => {
  beforeAll(async () => {
    if (kind === 'server') redis = await TestRedis.start();
    else cluster = await TestRedisCluster.start();
    const dispatcherEnv = {
      ...(redis ? { REDIS_URL: redis.url } : { REDIS_CLUSTER_NODES: cluster?.seeds ?? '' }),
      REDIS_PREFIX: `topology-${process.pid}`,
      NODE_TTL_MS: String(NODE_TTL_MS),
      VIEWER_COUNT_INTERVAL_MS: '200',
    };
    [d1, d2] = await Promise.all([
      ServiceProcess.start('dispatcher', dispatcherEnv, 'dispatcher-1'),
      ServiceProcess.start('dispatcher', dispatcherEnv, 'dispatcher-2'),
    ]);
    const nodeEnv = (id: string, urls: string) => ({ NODE_ID: id, DISPATCHER_URLS: urls, NODE_HEARTBEAT_MS: '400' });
    [nodeA, nodeB] = await Promise.all([
      ServiceProcess.start('realtime', nodeEnv('node-a', `${d1.url},${d2.url}`), 'node-a'),
      ServiceProcess.start('realtime', nodeEnv('node-b', `${d2.url},${d1.url}`), 'node-b'),
    ]);
  });

  afterAll(async () => {
    for (const viewer of viewers) viewer.close();
    await Promise.all([nodeA, nodeB, d1, d2].map((s) => s?.kill('SIGKILL')));
    await Promise.all([redis?.stop(), cluster?.stop()]);
    redis = undefined;
    cluster = undefined;
    viewers.length = 0;
  });

  it('sends a topic only to nodes with viewers for it', async () => {
    const viewer = await open(nodeA, 'video:only-a');
    const events = Array.from({ length: 20 }, (_, seq) => ({ topic: 'video:only-a', type: 'comment', data: { seq } }));
    expect((await publish(d1, events)).status).toBe(202);
    await waitFor('viewer on A to get 20 comments', () => viewer.events('comment').length === 20);
    expect(await metricValue(nodeA.url, 'realtime_events_received_total')).toBeGreaterThanOrEqual(20);
    expect(await metricValue(nodeB.url, 'realtime_events_received_total')).toBe(0);
    viewer.close();
  });

  it('delivers to a viewer on node A an event published through dispatcher 2', async () => {
    const viewer = await open(nodeA, 'video:cross');
    expect((await publish(d2, [{ topic: 'video:cross', type: 'comment', data: { text: 'via d2' } }])).status).toBe(202);
    await waitFor('the comment', () => viewer.events('comment')[0]?.data.text === 'via d2');
    viewer.close();
  });

  it('gives 200 viewers over both nodes every one of 500 events exactly once, in order, and counts them', async () => {
    const topic = 'video:big';
    const group = await Promise.all(Array.from({ length: 200 }, (_, i) => open(i % 2 === 0 ? nodeA : nodeB, topic)));

    for (let batch = 0; batch < 10; batch++) {
      const events = Array.from({ length: 50 }, (_, i) => ({ topic, type: 'comment', data: { seq: batch * 50 + i } }));
      expect((await publish(d2, events)).status).toBe(202);
    }
    // An end marker (through the other dispatcher): once every viewer has it, anything else that
    // was going to arrive — a late duplicate included — has.
    expect((await publish(d1, [{ topic, type: 'comment', data: { seq: 500 } }])).status).toBe(202);
    await waitFor(
      'the end marker at every viewer',
      () => group.every((v) => v.events('comment').some((e) => e.data.seq === 500)),
      { timeoutMs: 20_000 },
    );
    const expected = Array.from({ length: 501 }, (_, i) => i);
    for (const viewer of group) {
      expect(viewer.events('comment').map((e) => e.data.seq)).toEqual(expected);
    }

    // Viewer counts: 200 across both nodes, through either dispatcher, and in `viewers` events.
    await waitFor('GET viewers = 200', async () => {
      const body = (await getJson(`${d1.url}/topics/${topic}/viewers`)).body as { count: number };
      return body.count === 200;
    });
    expect((await getJson(`${d2.url}/topics/${topic}/viewers`)).body).toEqual({ count: 200, byRegion: { local: 200 } });
    await waitFor('a viewers event of 200', () => group[0]?.events('viewers').some((e) => e.data.count === 200));

    for (const viewer of group.slice(0, 50)) viewer.close();
    const stayed = group[199];
    await waitFor('viewers event drops to 150', () => stayed?.events('viewers').at(-1)?.data.count === 150, {
      timeoutMs: 5000,
    });
    for (const viewer of group.slice(50)) viewer.close();
  });

  it('gives every viewer a like sum exactly equal to the likes published, under a burst', async () => {
    const topic = 'video:likes';
    const group = await Promise.all(Array.from({ length: 100 }, (_, i) => open(i % 2 === 0 ? nodeA : nodeB, topic)));
    let published = 0;
    const bursts = Array.from({ length: 50 }, (_, b) =>
      Array.from({ length: 40 }, (_, i) => {
        const count = 1 + ((b * 40 + i) % 5);
        published += count;
        return { topic, type: 'like', data: { count } };
      }),
    );
    // Two publishers at once, through both dispatchers.
    await Promise.all([
      (async () => {
        for (const burst of bursts.slice(0, 25)) expect((await publish(d1, burst)).status).toBe(202);
      })(),
      (async () => {
        for (const burst of bursts.slice(25)) expect((await publish(d2, burst)).status).toBe(202);
      })(),
    ]);
    const sum = (viewer: TestViewer) => viewer.events('like').reduce((n, e) => n + (e.data.count as number), 0);
    // An end marker after the likes, through each dispatcher: then every like had its chance.
    expect((await publish(d1, [{ topic, type: 'comment', data: { end: 1 } }])).status).toBe(202);
    expect((await publish(d2, [{ topic, type: 'comment', data: { end: 2 } }])).status).toBe(202);
    await waitFor('both end markers at every viewer', () => group.every((v) => v.events('comment').length === 2), {
      timeoutMs: 10_000,
    });
    for (const viewer of group) expect(sum(viewer)).toBe(published);
    // Coalesced: far fewer like frames than the 2,000 like events published.
    expect(Math.max(...group.map((v) => v.events('like').length))).toBeLessThan(2000);
    for (const viewer of group) viewer.close();
  });

  it('retries a SIGKILLed node only until its liveness TTL, then stops sending to it', async () => {
    const topic = 'video:kill';
    const onA = await open(nodeA, topic);
    await open(nodeB, topic);
    await waitFor(
      'both nodes counted',
      async () => ((await getJson(`${d1.url}/topics/${topic}/viewers`)).body as { count: number }).count === 2,
    );

    const killedAt = Date.now();
    await nodeB.kill('SIGKILL');
    // Deliveries to B fail and are retried while B may still come back (its liveness); then
    // every dispatcher gives B up: no more attempts, and what was queued for it is dropped.
    const attempts = async () =>
      (await metricValue(d1.url, 'dispatcher_node_batches_total', { outcome: 'failed' })) +
      (await metricValue(d2.url, 'dispatcher_node_batches_total', { outcome: 'failed' }));
    // Each dispatcher gives B up on its own (both had events for it): wait for both.
    const gaveUp = async () =>
      Math.min(
        await metricValue(d1.url, 'dispatcher_dropped_events_total', { reason: 'node_left' }),
        await metricValue(d2.url, 'dispatcher_dropped_events_total', { reason: 'node_left' }),
      );
    let seq = 0;
    const round = async () => {
      for (let i = 0; i < 5; i++) await publish(i % 2 ? d1 : d2, [{ topic, type: 'comment', data: { seq: seq++ } }]);
    };
    await round();
    await waitFor('deliveries to B to fail', async () => (await attempts()) > 0, { timeoutMs: 5000 });
    await waitFor('the dispatchers to give B up', async () => (await gaveUp()) > 0, { timeoutMs: NODE_TTL_MS + 3000 });
    const stoppedAt = Date.now() - killedAt;
    expect(stoppedAt).toBeLessThan(NODE_TTL_MS + 2000);
    // From now on nothing is sent to B: failed attempts stay where they are while A gets everything.
    const failedBefore = await attempts();
    await round();
    await waitFor('A to receive every comment', () => onA.events('comment').length === seq);
    expect(await attempts()).toBe(failedBefore);
    await waitFor(
      'the registry to count only A',
      async () => ((await getJson(`${d2.url}/topics/${topic}/viewers`)).body as { count: number }).count === 1,
      { timeoutMs: NODE_TTL_MS + 2000 },
    );
  });

  // A whole cluster restarting empty is not what a cluster does (a master fails over): one server only.
  if (kind === 'server')
    it('resumes delivery within 5 s after Redis restarts empty, without restarting any node', async () => {
      const topic = 'video:redis';
      const viewer = await open(nodeA, topic);
      await publish(d1, [{ topic, type: 'comment', data: { phase: 'before' } }]);
      await waitFor('delivery before the restart', () => viewer.events('comment').length === 1);

      await redis?.restart();
      const restartedAt = Date.now();
      let attempt = 0;
      await waitFor(
        'delivery after the restart',
        async () => {
          const response = await publish(attempt++ % 2 ? d1 : d2, [
            { topic, type: 'comment', data: { phase: 'after' } },
          ]);
          expect([202, 503]).toContain(response.status);
          return viewer.events('comment').some((e) => e.data.phase === 'after');
        },
        { timeoutMs: 8000, intervalMs: 100 },
      );
      const resumedMs = Date.now() - restartedAt;
      expect(resumedMs).toBeLessThan(5000);
      expect(nodeA.exited).toBe(false);
      console.log(`delivery resumed ${resumedMs} ms after Redis restarted empty`);
    });
});
