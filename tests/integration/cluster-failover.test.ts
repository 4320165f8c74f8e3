import { withRedisAt } from '@ovation/shared/local-redis-cluster';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getJson, postJson } from '../../test-support/http.js';
import { waitFor } from '../../test-support/poll.js';
import { TestRedisCluster } from '../../test-support/redis-cluster.js';
import { ServiceProcess, TEST_TOKEN } from '../../test-support/services.js';
import { TestViewer } from '../../test-support/sse-client.js';

/*
 * Redis Cluster failover under load (issue 14): publishing to a topic without pause (4 publishers),
 * the replica of the master holding the topic's slot is stopped for 1.5 s — it falls behind — then
 * the master is killed and the replica let go. The replica takes over without what it missed; the
 * publishes in the window get 503; every publish that got a 202 is in the topic's history
 * afterwards and reached the viewer — the dispatcher answers 202 only once a replica has the events
 * (WAIT, REDIS_WAIT_REPLICAS default 1 on a cluster). The killed node comes back as a replica of the
 * new master, as an operator would bring it back, and publishing goes on.
 *
 * It fails without the WAIT: `FAILOVER_WAIT_REPLICAS=0 npx vitest run <this file>` loses the
 * events acknowledged while the replica was behind.
 */

const TOPIC = 'video:failover';
const PUBLISHERS = 4;
const PREFIX = `failover-${process.pid}`;
let cluster: TestRedisCluster;
let dispatcher: ServiceProcess;
let node: ServiceProcess;
let viewer: TestViewer | undefined;

beforeAll(async () => {
  cluster = await TestRedisCluster.start({ nodeTimeoutMs: 1000 });
  dispatcher = await ServiceProcess.start('dispatcher', {
    REDIS_CLUSTER_NODES: cluster.seeds,
    REDIS_PREFIX: PREFIX,
    NODE_TTL_MS: '3000',
    ...(process.env.FAILOVER_WAIT_REPLICAS ? { REDIS_WAIT_REPLICAS: process.env.FAILOVER_WAIT_REPLICAS } : {}),
  });
  node = await ServiceProcess.start('realtime', { DISPATCHER_URLS: dispatcher.url, NODE_HEARTBEAT_MS: '400' });
}, 90_000);

afterAll(async () => {
  viewer?.close();
  await Promise.all([node, dispatcher].map((s) => s?.kill('SIGKILL')));
  await cluster?.stop();
});

/** A publish with an Idempotency-Key of its own (`<topic>-<n>`): sent again, it is the same event. */
async function keyed(topic: string, n: number): Promise<number> {
  const response = await postJson(
    `${dispatcher.url}/publish`,
    { topic, type: 'comment', data: { n } },
    { authorization: `Bearer ${TEST_TOKEN}`, 'idempotency-key': `${topic}-${n}` },
  ).catch(() => ({ status: 0 }));
  return response.status;
}

/**
 * A viewer of `topic` (closed by the caller) once the cluster is whole and the topic's first event
 * (n 0, keyed) reached it; `seen` lists the `n` of the comments it got, in order.
 */
async function watchFirstEvent(topic: string): Promise<{ watcher: TestViewer; seen: () => number[] }> {
  await cluster.waitHealthy();
  const watcher = await TestViewer.connect(`${node.url}/connect?topics=${topic}`);
  const seen = () => watcher.events('comment').map((e) => (e.data as { n: number }).n);
  try {
    await waitFor('the first event accepted', async () => (await keyed(topic, 0)) === 202, { timeoutMs: 20_000 });
    await waitFor('the viewer to have it', () => seen().includes(0), { timeoutMs: 10_000 });
  } catch (error) {
    watcher.close();
    throw error;
  }
  return { watcher, seen };
}

async function publish(n: number): Promise<{ status: number; id?: string }> {
  const response = await postJson(
    `${dispatcher.url}/publish`,
    { topic: TOPIC, type: 'comment', data: { n } },
    { authorization: `Bearer ${TEST_TOKEN}` },
  ).catch(() => ({ status: 0, body: undefined }));
  const ids = (response.body as { ids?: string[] } | undefined)?.ids;
  return { status: response.status, ...(ids?.[0] ? { id: ids[0] } : {}) };
}

describe('Redis Cluster: a master killed while publishing', () => {
  it('answers 503 in the window and loses no event that got a 202', async () => {
    viewer = await TestViewer.connect(`${node.url}/connect?topics=${TOPIC}`);
    await waitFor('the first publish accepted', async () => (await publish(0)).status === 202, { timeoutMs: 20_000 });

    const accepted = new Map<number, string>();
    const statuses = new Map<number, number>();
    // Several publishers at once, so that writes are in flight when the master dies.
    let n = 1;
    const runUntil = async (done: () => boolean, timeoutMs: number) => {
      const deadline = Date.now() + timeoutMs;
      await Promise.all(
        Array.from({ length: PUBLISHERS }, async () => {
          while (!done() && Date.now() < deadline) {
            const mine = n++;
            const result = await publish(mine);
            statuses.set(result.status, (statuses.get(result.status) ?? 0) + 1);
            if (result.status === 202 && result.id) accepted.set(mine, result.id);
          }
        }),
      );
    };

    // Under way: some publishes accepted before the kill.
    await runUntil(() => accepted.size >= 100, 20_000);
    // The replica falls behind (stopped): what the master accepts now reaches no replica. A
    // dispatcher that answered 202 without waiting for one would lose those events below.
    const master = await cluster.masterPortOf(`{${TOPIC}}`);
    const replica = await cluster.replicaOf(master);
    cluster.pause(replica);
    const pausedAt = Date.now();
    await runUntil(() => Date.now() - pausedAt > 1500, 5000);
    const killedAt = Date.now();
    const beforeKill = n;
    await cluster.kill(master);
    cluster.resume(replica);
    // Meanwhile the dispatcher says its store is down (a slot's master is gone), then up again.
    const health = async () => (await getJson(`${dispatcher.url}/healthz`)).status;
    const reportedDown = waitFor('the dispatcher /healthz to report Redis down', async () => (await health()) === 503, {
      timeoutMs: 10_000,
    });
    // Go on through the failover until publishes are accepted again. The new master has no
    // replica yet: the old one comes back as its replica (in a real cluster, a second replica
    // or the operator's restart), after which WAIT is satisfied again.
    let restarted = false;
    let firstAcceptedAfter: number | undefined;
    await runUntil(() => {
      if (!restarted && Date.now() - killedAt > 3000) {
        restarted = true;
        void cluster.restart(master);
      }
      if (firstAcceptedAfter === undefined && [...accepted.keys()].some((k) => k > beforeKill))
        firstAcceptedAfter = Date.now();
      return firstAcceptedAfter !== undefined && accepted.size >= 200;
    }, 60_000);
    expect(firstAcceptedAfter, 'publishes accepted again after the failover').toBeDefined();
    await reportedDown;
    await waitFor('the dispatcher /healthz to report ready again', async () => (await health()) === 200, {
      timeoutMs: 10_000,
    });
    const windowMs = (firstAcceptedAfter ?? 0) - killedAt;
    expect(statuses.get(503) ?? 0, 'publishes refused in the window').toBeGreaterThan(0);
    expect([...statuses.keys()].every((status) => status === 202 || status === 503)).toBe(true);

    // Every 202 reached the viewer (live, or resumed after the node re-read the log)…
    await waitFor(
      'the viewer to have every accepted event',
      () => {
        const seen = new Set(viewer?.events('comment').map((e) => (e.data as { n: number }).n));
        return [...accepted.keys()].every((k) => seen.has(k));
      },
      { timeoutMs: 20_000 },
    );
    // …and is in the topic's history on the new master, once each.
    const client = cluster.client();
    try {
      await waitFor('the cluster client ready', () => client.status === 'ready', { timeoutMs: 10_000 });
      const entries = (await client.xrange(`${PREFIX}:topic:{${TOPIC}}:history`, '-', '+')) as Array<
        [string, string[]]
      >;
      const inHistory = entries.map(([, fields]) => (JSON.parse(fields[1] ?? '{}') as { data: { n: number } }).data.n);
      const missing = [...accepted.keys()].filter((k) => !inHistory.includes(k));
      expect(missing, 'accepted events missing from the history').toEqual([]);
      expect(new Set(inHistory).size, 'no event in the history twice').toBe(inHistory.length);
    } finally {
      client.disconnect();
    }
    console.log(
      `cluster failover: ${accepted.size} publishes got 202, ${statuses.get(503) ?? 0} got 503; ` +
        `accepted again ${windowMs} ms after the master was killed; 0 accepted events lost`,
    );
  }, 150_000);

  /*
   * A publish the replica confirms too late gets 503, and reaches viewers once it is confirmed: its
   * topic had gone quiet, so the node had already looked for a lost tail, and no later event would
   * reveal the gap.
   */
  it('delivers a publish its replica confirmed late, though it answered 503', async () => {
    const topic = 'video:late';
    const { watcher, seen } = await watchFirstEvent(topic);
    try {
      // Its viewer count too: a later one would be the event that reveals the gap.
      await waitFor('the viewer count', () => watcher.events('viewers').length > 0, { timeoutMs: 10_000 });
      // Quiet for longer than the node waits before it probes the topic's log (QUIET_MS, 1 s).
      await new Promise((resolve) => setTimeout(resolve, 2000));
      const replica = await cluster.replicaOf(await cluster.masterPortOf(`{${topic}}`));
      cluster.pause(replica);
      try {
        expect(await keyed(topic, 1), 'a publish no replica confirmed in time').toBe(503);
      } finally {
        cluster.resume(replica);
      }
      await waitFor('the viewer to have it once confirmed', () => seen().includes(1), { timeoutMs: 10_000 });
      expect(seen()).toEqual([0, 1]);
    } finally {
      watcher.close();
    }
  }, 60_000);

  /*
   * A publish the replica did not confirm (it is stopped) gets 503 — and must reach no viewer: the
   * master dies, its replica takes over without the event, another event takes its position there,
   * and the publisher's retry (same key) is accepted after it. A dispatcher that showed viewers the
   * unconfirmed event (as this one did, found by the fault suite) had them see it twice, or lose
   * the other event at the same position. Nodes' reads are confirmed too, so a node probing for a
   * lost tail cannot take the event from the master meanwhile.
   */
  it('shows viewers no event a replica did not confirm: its retry after the failover is seen once, in order', async () => {
    const topic = 'video:unconfirmed';
    const { watcher, seen } = await watchFirstEvent(topic);
    try {
      const master = await cluster.masterPortOf(`{${topic}}`);
      const replica = await cluster.replicaOf(master);
      cluster.pause(replica);
      // A stopped replica still receives into its socket buffers: what the master sends next waits
      // in the master's own memory only behind 16 MiB that fill them.
      await withRedisAt(master, (probe) => probe.set(`{${topic}}:filler`, 'x'.repeat(16 * 1024 * 1024)));
      expect(await keyed(topic, 1), 'a publish no replica confirmed').toBe(503);
      await cluster.kill(master);
      cluster.resume(replica);
      await waitFor(
        'the replica to take the slot over',
        async () => (await cluster.masterPortOf(`{${topic}}`)) === replica,
        {
          timeoutMs: 20_000,
        },
      );
      // The old master back as the new one's replica, so that WAIT can be satisfied again.
      await cluster.restart(master);
      await cluster.waitHealthy();

      await waitFor('another event accepted by the new master', async () => (await keyed(topic, 2)) === 202, {
        timeoutMs: 20_000,
      });
      await waitFor('the refused event accepted when sent again', async () => (await keyed(topic, 1)) === 202, {
        timeoutMs: 20_000,
      });
      await waitFor('the viewer to have both', () => seen().includes(1) && seen().includes(2), { timeoutMs: 10_000 });
      expect(seen()).toEqual([0, 2, 1]);
    } finally {
      watcher.close();
    }
  }, 120_000);
});
