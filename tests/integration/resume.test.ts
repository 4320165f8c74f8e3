import { parsePositionId, positionId } from '@ovation/shared';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ClientViewer } from '../../test-support/client-viewer.js';
import { postJson } from '../../test-support/http.js';
import { waitFor } from '../../test-support/poll.js';
import { TestRedis } from '../../test-support/redis-server.js';
import { ServiceProcess, TEST_TOKEN } from '../../test-support/services.js';
import { TestViewer } from '../../test-support/sse-client.js';

/*
 * No event lost (issue 5): resume, snapshots, node failover and drain, on the deployed topology —
 * Redis + 2 dispatchers + realtime nodes, every one a real process.
 */

const DRAIN_MS = 4000;
let redis: TestRedis;
let d1: ServiceProcess;
let d2: ServiceProcess;
const nodes: ServiceProcess[] = [];
const closers: Array<{ close(): void }> = [];

const dispatcherEnv = () => ({
  REDIS_URL: redis.url,
  REDIS_PREFIX: `resume-${process.pid}`,
  NODE_TTL_MS: '2000',
  VIEWER_COUNT_INTERVAL_MS: '200',
  HISTORY_MAX_EVENTS: '1000',
});

function startNode(name: string): Promise<ServiceProcess> {
  return ServiceProcess.start(
    'realtime',
    {
      NODE_ID: name,
      DISPATCHER_URLS: `${d1.url},${d2.url}`,
      NODE_HEARTBEAT_MS: '400',
      DRAIN_MS: String(DRAIN_MS),
      MAX_CONNECTIONS: '5000',
      // Its viewers all come from 127.0.0.1: past the per-address default of 1,000.
      MAX_CONNECTIONS_PER_IP: '5000',
    },
    name,
  );
}

beforeAll(async () => {
  redis = await TestRedis.start();
  [d1, d2] = await Promise.all([
    ServiceProcess.start('dispatcher', dispatcherEnv(), 'dispatcher-1'),
    ServiceProcess.start('dispatcher', dispatcherEnv(), 'dispatcher-2'),
  ]);
  nodes.push(...(await Promise.all([startNode('node-a'), startNode('node-b')])));
});

afterAll(async () => {
  for (const c of closers) c.close();
  await Promise.all([...nodes, d1, d2].map((s) => s?.kill('SIGKILL')));
  await redis?.stop();
});

const node = (i: number) => nodes[i] as ServiceProcess;

async function publish(events: Array<{ topic: string; type: string; data: object }>, via = d1) {
  return postJson(`${via.url}/publish`, { events }, { authorization: `Bearer ${TEST_TOKEN}` });
}

/** Publishes comments seq from…from+count-1; a 503 (the contract's "retry") is retried until a deadline. */
async function comments(topic: string, from: number, count: number, via = d1): Promise<string[]> {
  const events = Array.from({ length: count }, (_, i) => ({ topic, type: 'comment', data: { seq: from + i } }));
  const response = await waitFor('a 202', async () => {
    const r = await publish(events, via);
    if (r.status !== 202 && r.status !== 503) throw new Error(`publish answered ${r.status}`);
    return r.status === 202 ? r : undefined;
  });
  return (response.body as { ids: string[] }).ids;
}

async function viewer(url: string, headers: Record<string, string> = {}): Promise<TestViewer> {
  const v = await TestViewer.connect(url, headers);
  closers.push(v);
  return v;
}

const seqs = (v: TestViewer) => v.events('comment').map((e) => e.data.seq);

function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? Number.NaN;
}

describe('resume', () => {
  it('gives a new subscriber a snapshot (viewers, like total, status) before the live stream', async () => {
    const topic = 'video:snap';
    await publish([
      // The like total is the sum of counts: a publisher's own `total` is for its display.
      { topic, type: 'like', data: { count: 3, total: 41 } },
      { topic, type: 'like', data: { count: 2 } },
      { topic, type: 'status', data: { videoId: 'snap', status: 'live' } },
    ]);
    const v = await viewer(`${node(0).url}/connect?topics=${topic}`);
    await waitFor('the snapshot', () => v.events('snapshot').length === 1);
    const [snapshot] = v.events('snapshot');
    expect(snapshot?.data).toMatchObject({ likes: 5, status: 'live' });
    expect(typeof snapshot?.data.viewers).toBe('number');
    expect(v.frames.map((f) => f.event).slice(0, 2)).toEqual(['connected', 'snapshot']);
    expect(parsePositionId(snapshot?.id ?? '')?.snapshot).toBe(true);
    await comments(topic, 0, 1);
    await waitFor('a live comment after the snapshot', () => seqs(v).length === 1);
  });

  it('replays exactly what a viewer missed on another node and dispatcher, then goes live', async () => {
    const topic = 'video:replay';
    const first = await viewer(`${node(0).url}/connect?topics=${topic}`);
    await comments(topic, 0, 5);
    await waitFor('5 comments', () => seqs(first).length === 5);
    const last = first.events('comment')[4]?.id as string;
    first.close();
    await comments(topic, 5, 5, d2);
    await publish([{ topic, type: 'like', data: { count: 2, total: 2 } }]);

    const back = await viewer(`${node(1).url}/connect?topics=${topic}&lastEventId=${encodeURIComponent(last)}`);
    await waitFor('the snapshot after the replay', () => back.events('snapshot').length === 1);
    await comments(topic, 10, 2, d2);
    await waitFor('the live comments', () => seqs(back).length === 7);
    expect(seqs(back)).toEqual([5, 6, 7, 8, 9, 10, 11]);
    expect(back.frames.map((f) => f.event).slice(0, 7)).toEqual(['connected', ...Array(5).fill('comment'), 'snapshot']);
    expect(back.events('snapshot')[0]?.data.likes).toBe(2);
  });

  it('resumes from the id of a like or a snapshot (not in history) just as exactly', async () => {
    const topic = 'video:like-id';
    const first = await viewer(`${node(0).url}/connect?topics=${topic}`);
    await waitFor('the snapshot', () => first.events('snapshot').length === 1);
    const snapshotId = first.events('snapshot')[0]?.id as string;
    await comments(topic, 0, 2);
    await publish([{ topic, type: 'like', data: { count: 1 } }]);
    await waitFor('the like', () => first.events('like').length === 1);
    const likeId = first.events('like')[0]?.id as string;
    first.close();
    await comments(topic, 2, 3);

    const fromLike = await viewer(`${node(1).url}/connect?topics=${topic}&lastEventId=${likeId}`);
    const fromSnapshot = await viewer(`${node(1).url}/connect?topics=${topic}`, { 'last-event-id': snapshotId });
    await waitFor('both caught up', () => seqs(fromLike).length === 3 && seqs(fromSnapshot).length === 5);
    expect(seqs(fromLike)).toEqual([2, 3, 4]);
    expect(seqs(fromSnapshot)).toEqual([0, 1, 2, 3, 4]);
  });

  it('answers a garbage, unknown-epoch or too-old id with resync — never an error or a gap', async () => {
    const topic = 'video:stale';
    const ids = await comments(topic, 0, 1);
    const firstId = ids[0] as string;
    // Push the first id out of the 1,000-event history.
    await comments(topic, 1, 1000);
    await comments(topic, 1001, 200);
    const otherEpoch = firstId.replace(/-([0-9a-z]{8})-/, '-zzzzzzzz-');
    for (const [lastEventId, reason] of [
      ['garbage%00%FF', 'unknown_id'],
      [encodeURIComponent('a'.repeat(300)), 'unknown_id'],
      [otherEpoch, 'unknown_id'],
      [firstId, 'too_old'],
    ] as const) {
      const v = await viewer(`${node(1).url}/connect?topics=${topic}&lastEventId=${lastEventId}`);
      expect(v.status).toBe(200);
      await waitFor('resync then snapshot', () => v.events('snapshot').length === 1);
      const resync = v.frames.find((f) => f.event === 'resync');
      expect(JSON.parse(resync?.data ?? '{}')).toEqual({ topic, reason });
      expect(seqs(v)).toEqual([]);
      await comments(topic, 2000, 1);
      await waitFor('live delivery after the resync', () => seqs(v).length === 1);
      v.close();
    }
    expect(node(1).exited).toBe(false);
  });
});

describe('failover', () => {
  const VIEWERS = 1000;
  // 20 comments/s (and likes) to 1,000 viewers of the shipped client is 20,000 events/s for the
  // test process to parse: more would make its own lag, not the failover, the figure.
  const RATE = 20;
  const SECONDS = 30;

  /**
   * Publishes RATE comments/s for SECONDS (through both dispatchers in turn, each one after the
   * previous 202), with likes in between so that many viewers' last id is not a comment; runs
   * `during` once a quarter of the comments are out. Then one more comment, the end marker: once
   * every viewer has it, anything that was to arrive has (late duplicates included).
   */
  async function publishWhile(topic: string, during: () => Promise<void>): Promise<number> {
    const total = RATE * SECONDS;
    const started = Date.now();
    let action: Promise<void> | undefined;
    for (let seq = 0; seq <= total; seq++) {
      const due = started + (seq * 1000) / RATE;
      await new Promise((resolve) => setTimeout(resolve, Math.max(0, due - Date.now())));
      const events = [{ topic, type: 'comment', data: { seq } }];
      if (seq % 3 === 0) events.push({ topic, type: 'like', data: { count: 1 } } as never);
      const response = await publish(events, seq % 2 === 0 ? d1 : d2);
      expect(response.status).toBe(202);
      if (seq === Math.floor(total / 4)) action = during();
    }
    await action;
    return total;
  }

  /** Viewers whose comments are not exactly 0 … total (the marker) in order; events lost and duplicated. */
  function exactlyOnce(viewers: readonly ClientViewer[], total: number) {
    const expected = Array.from({ length: total + 1 }, (_, i) => i);
    let wrong = 0;
    let lost = 0;
    let duplicated = 0;
    for (const v of viewers) {
      const got = v.of('comment').map((c) => c.seq as number);
      if (got.length !== expected.length || got.some((s, i) => s !== expected[i])) wrong++;
      lost += expected.length - new Set(got).size;
      duplicated += got.length - new Set(got).size;
    }
    return { wrong, lost, duplicated };
  }

  const hasMarker = (v: ClientViewer, total: number) => v.of('comment').some((c) => c.seq === total);

  it(`SIGKILL: ${VIEWERS} viewers of the shipped client move to the other node and get every comment exactly once, in order`, async () => {
    const topic = 'video:sigkill';
    const urls = [node(0).url, node(1).url];
    const viewers = Array.from({ length: VIEWERS }, () => new ClientViewer(urls, [topic], { preferredUrl: urls[0] }));
    closers.push(...viewers);
    for (const v of viewers) v.start();
    await waitFor('every viewer connected to node A', () => viewers.every((v) => v.connections.length === 1), {
      timeoutMs: 30_000,
    });
    expect(viewers.every((v) => v.connections[0]?.node === urls[0])).toBe(true);

    let killedAt = 0;
    const total = await publishWhile(topic, async () => {
      killedAt = Date.now();
      await node(0).kill('SIGKILL');
    });
    await waitFor('the end marker at every viewer', () => viewers.every((v) => hasMarker(v, total)), {
      timeoutMs: 30_000,
      intervalMs: 100,
    });

    const result = exactlyOnce(viewers, total);
    const reconnectMs = viewers
      .map((v) => (v.connections.find((c) => c.at >= killedAt)?.at ?? Number.POSITIVE_INFINITY) - killedAt)
      .sort((a, b) => a - b);
    console.log(
      `SIGKILL failover, ${VIEWERS} viewers (shipped client, its backoff), ${total} comments at ${RATE}/s: ` +
        `reconnect p50 ${percentile(reconnectMs, 50)} ms, p99 ${percentile(reconnectMs, 99)} ms, max ${reconnectMs.at(-1)} ms; ` +
        `lost ${result.lost}, duplicated ${result.duplicated}`,
    );
    expect(result).toEqual({ wrong: 0, lost: 0, duplicated: 0 });
    expect(viewers.every((v) => v.connections.length === 2 && v.connections[1]?.node === urls[1])).toBe(true);
    expect(viewers.every((v) => v.resyncs.length === 0)).toBe(true);
    for (const v of viewers) v.close();
  }, 120_000);

  it(`SIGTERM: ${VIEWERS} viewers of the shipped client drain to another node, told to go at spread moments, nothing lost`, async () => {
    const topic = 'video:sigterm';
    nodes.push(await startNode('node-c'));
    // Node A is gone: viewers start on B and their next node is C.
    const urls = [node(1).url, node(2).url];
    const viewers = Array.from({ length: VIEWERS }, () => new ClientViewer(urls, [topic], { preferredUrl: urls[0] }));
    closers.push(...viewers);
    for (const v of viewers) v.start();
    await waitFor('every viewer connected to node B', () => viewers.every((v) => v.connections.length === 1), {
      timeoutMs: 30_000,
    });

    let termAt = 0;
    let exitCode: number | null = null;
    const total = await publishWhile(topic, async () => {
      termAt = Date.now();
      exitCode = await node(1).kill('SIGTERM');
    });
    await waitFor('the end marker at every viewer', () => viewers.every((v) => hasMarker(v, total)), {
      timeoutMs: 30_000,
      intervalMs: 100,
    });

    const result = exactlyOnce(viewers, total);
    // When each viewer left B (its turn, said by the node: it opens a stream to C) and when C had it.
    const left = viewers.map(
      (v) => (v.statuses.find((s) => s.at >= termAt && s.status !== 'open')?.at ?? Number.NaN) - termAt,
    );
    const arrivals = viewers
      .map((v) => (v.connections[1]?.at ?? Number.POSITIVE_INFINITY) - termAt)
      .sort((a, b) => a - b);
    // Arrivals per tenth of the window (DRAIN_MS / 10 each), and on past it in spans of the same
    // length: this process's timers lag under load, and lumping every late arrival into the last
    // tenth made one "tenth" seconds long (a CI run counted 525 there, arrivals 3.6–7 s).
    const slices = Array.from({ length: 10 }, () => 0);
    const tenth = (ms: number) => Math.max(0, Math.floor((ms / DRAIN_MS) * 10));
    for (const ms of arrivals) if (Number.isFinite(ms)) slices[tenth(ms)] = (slices[tenth(ms)] ?? 0) + 1;
    const perTenth = Array.from(slices, (n) => n ?? 0);
    console.log(
      `SIGTERM drain, ${VIEWERS} viewers (shipped client) over DRAIN_MS ${DRAIN_MS}: connected to C p50 ` +
        `${percentile(arrivals, 50)} ms, p99 ${percentile(arrivals, 99)} ms; per tenth of the window ${perTenth.join(' ')}; ` +
        `lost ${result.lost}, duplicated ${result.duplicated}`,
    );
    expect(exitCode).toBe(0);
    expect(result).toEqual({ wrong: 0, lost: 0, duplicated: 0 });
    expect(viewers.every((v) => v.resyncs.length === 0)).toBe(true);
    expect(viewers.every((v) => v.connections.length === 2 && v.connections[1]?.node === urls[1])).toBe(true);
    // Spread as the node told them (each its own moment within DRAIN_MS; realtime.test.ts checks
    // the moments themselves), not a storm: no tenth of the window saw half of them arrive at C.
    // (When each left is this process's timers: with 1,000 clients and other suites on 2 cores
    // it lags by seconds, so it is printed, not asserted.)
    const leftSorted = left.filter(Number.isFinite).sort((a, b) => a - b);
    console.log(`left B: p50 ${percentile(leftSorted, 50)} ms, p99 ${percentile(leftSorted, 99)} ms after SIGTERM`);
    expect(Math.max(...perTenth)).toBeLessThanOrEqual(VIEWERS / 2);
    for (const v of viewers) v.close();
  }, 120_000);
});

describe('Redis restarted empty', () => {
  it('answers 503 or delivers every publish (never a lost 202), resumes within 5 s, and resyncs old ids', async () => {
    const topic = 'video:redis-restart';
    const live = nodes.find((n) => !n.exited) as ServiceProcess;
    const v = await viewer(`${live.url}/connect?topics=${topic}`);
    const before = await comments(topic, 0, 1);
    await waitFor('delivery before the restart', () => seqs(v).length === 1);

    await redis.restart();
    const restartedAt = Date.now();
    const accepted = [0];
    let refused = 0;
    let seq = 1;
    await waitFor(
      'delivery after the restart',
      async () => {
        const response = await publish([{ topic, type: 'comment', data: { seq } }], seq % 2 ? d1 : d2);
        expect([202, 503]).toContain(response.status);
        if (response.status === 202) accepted.push(seq);
        else refused++;
        seq++;
        return accepted.length > 1 && seqs(v).includes(accepted[1] as number);
      },
      { timeoutMs: 8000, intervalMs: 50 },
    );
    const resumedMs = Date.now() - restartedAt;
    await waitFor('every accepted comment', () => accepted.every((s) => seqs(v).includes(s)));
    console.log(
      `Redis restarted empty: delivery back after ${resumedMs} ms; ${refused} publishes refused (503), ` +
        `${accepted.length - 1} accepted, all delivered`,
    );
    expect(resumedMs).toBeLessThan(5000);
    expect(seqs(v)).toEqual(accepted);

    // The log restarted under a new epoch: an id from before the loss cannot be resumed from.
    const old = await viewer(`${live.url}/connect?topics=${topic}&lastEventId=${before[0]}`);
    await waitFor('resync', () => old.frames.some((f) => f.event === 'resync'));
    expect(JSON.parse(old.frames.find((f) => f.event === 'resync')?.data ?? '{}')).toEqual({
      topic,
      reason: 'unknown_id',
    });
  });
});

describe('Redis restarted empty, with relayed events in flight', () => {
  it('accepts a relayed event once even when a peer sends it again after the loss: the nodes say what arrived', async () => {
    const topic = 'video:relay-restart';
    const live = nodes.find((n) => !n.exited) as ServiceProcess;
    const v = await viewer(`${live.url}/connect?topics=${topic}`);
    await waitFor('the snapshot', () => v.frames.some((f) => f.event === 'snapshot'));
    const ts = Date.now();
    const relayed = (seq: number) => ({
      id: positionId({ ts, pos: seq, epoch: 'eeee0001', region: 'eu' }),
      topic,
      type: 'comment',
      data: { seq },
      ts,
      region: 'eu',
    });
    const relay = (events: object[]) =>
      postJson(`${d1.url}/internal/relay`, { events }, { authorization: `Bearer ${TEST_TOKEN}` });
    const batch = [relayed(1), relayed(2)];
    expect(await relay(batch)).toMatchObject({ status: 200, body: { accepted: 2, duplicates: 0 } });
    await waitFor('both at the viewer', () => seqs(v).length === 2);

    await redis.restart();
    // The peer never got the answer and sends the batch again: refused while the store recovers,
    // then recognised — the nodes told the new store which relayed events they let out.
    const again = await waitFor(
      'an answer to the batch sent again',
      async () => {
        const response = await relay(batch);
        expect([200, 503]).toContain(response.status);
        return response.status === 200 ? response : undefined;
      },
      { timeoutMs: 8000, intervalMs: 100 },
    );
    expect(again.body).toEqual({ accepted: 0, duplicates: 2 });
    expect(await relay([relayed(3)])).toMatchObject({ status: 200, body: { accepted: 1, duplicates: 0 } });
    await waitFor('the next one at the viewer', () => seqs(v).includes(3));
    expect(seqs(v)).toEqual([1, 2, 3]);
  });
});

describe('a dispatcher dies', () => {
  it('nodes go on through the other one: live delivery, new viewers, resume', async () => {
    const topic = 'video:dispatcher-death';
    const live = nodes.find((n) => !n.exited) as ServiceProcess;
    const v = await viewer(`${live.url}/connect?topics=${topic}`);
    const [lastSeen] = await comments(topic, 0, 1, d2);
    await waitFor('the first comment', () => seqs(v).length === 1);

    await d1.kill('SIGKILL');
    await comments(topic, 1, 2, d2);
    await waitFor('live delivery through dispatcher 2', () => seqs(v).length === 3);
    const fresh = await viewer(`${live.url}/connect?topics=${topic}`);
    const resumed = await viewer(`${live.url}/connect?topics=${topic}&lastEventId=${lastSeen}`);
    await waitFor('a snapshot for the new viewer', () => fresh.events('snapshot').length === 1);
    await waitFor('the replay', () => seqs(resumed).length === 2);
    expect(seqs(resumed)).toEqual([1, 2]);
    expect(seqs(v)).toEqual([0, 1, 2]);
  });
});
