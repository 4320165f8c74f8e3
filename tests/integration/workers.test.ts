import { readdirSync, readFileSync } from 'node:fs';
import { request } from 'node:http';
import { randomTag } from '@ovation/shared';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getJson, metricValue, postJson } from '../../test-support/http.js';
import { waitFor } from '../../test-support/poll.js';
import { ServiceProcess, TEST_TOKEN } from '../../test-support/services.js';
import { TestViewer } from '../../test-support/sse-client.js';

/*
 * One realtime machine with WORKERS=2 on one port, as a real process tree, and a dispatcher.
 *
 *   viewers ──PORT (shared, round-robin)──▶ worker 0 (node <id>-0)  ◀── dispatcher: internal port 0
 *                                       └─▶ worker 1 (node <id>-1)  ◀── dispatcher: internal port 1
 */

const MACHINE = `wk-${randomTag(4)}`;
let dispatcher: ServiceProcess;
let machine: ServiceProcess;
const viewers: TestViewer[] = [];

beforeAll(async () => {
  dispatcher = await ServiceProcess.start('dispatcher', { VIEWER_COUNT_INTERVAL_MS: '200' });
  machine = await ServiceProcess.start(
    'realtime',
    {
      WORKERS: '2',
      NODE_ID: MACHINE,
      DISPATCHER_URLS: dispatcher.url,
      NODE_HEARTBEAT_MS: '200',
      HEARTBEAT_MS: '1000',
      DRAIN_MS: '500',
    },
    'realtime-workers',
  );
});

afterAll(async () => {
  for (const viewer of viewers) viewer.close();
  await Promise.all([machine, dispatcher].map((s) => s?.kill('SIGKILL')));
});

const nodeOf = (viewer: TestViewer) =>
  (JSON.parse(viewer.frames.find((f) => f.event === 'connected')?.data ?? '{}') as { nodeId?: string }).nodeId;

/** A viewer on worker `index`: viewers are opened (and the others closed) until one lands there. */
async function viewerOn(index: number, topics: string): Promise<TestViewer> {
  return waitFor(
    `a viewer on worker ${index}`,
    async () => {
      const viewer = await TestViewer.connect(`${machine.url}/connect?topics=${topics}`);
      if (nodeOf(viewer) === `${MACHINE}-${index}`) {
        viewers.push(viewer);
        return viewer;
      }
      viewer.close();
      return undefined;
    },
    { timeoutMs: 15_000, intervalMs: 10 },
  );
}

const publish = (topic: string, type: string, data: object) =>
  postJson(`${dispatcher.url}/publish`, { topic, type, data }, { authorization: `Bearer ${TEST_TOKEN}` });

/** A POST on a TCP connection of its own, so that the shared port hands it to the next worker. */
function postFresh(path: string, body: object): Promise<{ status: number; body: unknown }> {
  return new Promise((resolve, reject) => {
    const req = request(
      `${machine.url}${path}`,
      { method: 'POST', agent: false, headers: { 'content-type': 'application/json' } },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          text += chunk;
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text ? JSON.parse(text) : undefined }));
      },
    );
    req.on('error', reject);
    req.end(JSON.stringify(body));
  });
}

/** The pid of worker `index` of this machine (its environment names it), if it runs. */
function workerPid(index: number): number | undefined {
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let environ: string;
    try {
      environ = readFileSync(`/proc/${entry}/environ`, 'latin1');
    } catch {
      continue;
    }
    const vars = environ.split('\0');
    if (vars.includes(`NODE_ID=${MACHINE}`) && vars.includes(`REALTIME_WORKER_INDEX=${index}`)) return Number(entry);
  }
  return undefined;
}

describe('realtime WORKERS=2: one port, two registered nodes', () => {
  it('each worker is a node of its own: viewers on both receive what is published', async () => {
    const a = await viewerOn(0, 'video:wk-a');
    const b = await viewerOn(1, 'video:wk-a');
    expect(nodeOf(a)).toBe(`${MACHINE}-0`);
    expect(nodeOf(b)).toBe(`${MACHINE}-1`);
    // Both nodes registered the topic with the dispatcher: its count sums them.
    const count = await waitFor('2 viewers counted', async () => {
      const { body } = await getJson(`${dispatcher.url}/topics/video:wk-a/viewers`);
      const n = (body as { count: number }).count;
      return n === 2 ? n : undefined;
    });
    expect(count).toBe(2);
    const published = await publish('video:wk-a', 'comment', { text: 'to both workers' });
    expect(published.status).toBe(202);
    for (const viewer of [a, b]) {
      const comment = await waitFor('the comment', () => viewer.events('comment')[0]);
      expect(comment.data).toEqual({ text: 'to both workers' });
    }
    // /metrics on the shared port sums the workers (each holds one of these two connections).
    expect(await metricValue(machine.url, 'realtime_connections')).toBe(2);
  });

  it('POST /subscribe and /unsubscribe reach the worker holding the connection, whichever gets them', async () => {
    const held = await viewerOn(1, 'video:wk-b');
    const id = held.connectionId;
    // Round-robin: of four fresh connections, two land on worker 0, which must forward them.
    const answers = [];
    for (let i = 0; i < 4; i++)
      answers.push(await postFresh('/subscribe', { connectionId: id, topics: ['video:wk-c'] }));
    for (const answer of answers)
      expect(answer).toEqual({ status: 200, body: { topics: ['video:wk-b', 'video:wk-c'] } });
    expect((await publish('video:wk-c', 'comment', { text: 'joined later' })).status).toBe(202);
    const comment = await waitFor('the comment on the new topic', () => held.events('comment')[0]);
    expect(comment.topic).toBe('video:wk-c');

    const left = [];
    for (let i = 0; i < 2; i++)
      left.push(await postFresh('/unsubscribe', { connectionId: id, topics: ['video:wk-c'] }));
    for (const answer of left) expect(answer).toEqual({ status: 200, body: { topics: ['video:wk-b'] } });

    // Latency reports too: both reach the owner, whose once-a-second bound then refuses the second.
    const reports = [];
    for (let i = 0; i < 2; i++)
      reports.push(await postFresh('/latency', { connectionId: id, topic: 'video:wk-b', samples: [12] }));
    expect(reports.map((r) => r.status)).toEqual([204, 429]);

    // Unknown connections are 404 on either worker, and so is one naming a worker that does not exist.
    for (const unknown of ['0-nope', '1-nope', '7-nope', 'nope']) {
      for (let i = 0; i < 2; i++) {
        const answer = await postFresh('/subscribe', { connectionId: unknown, topics: ['video:wk-c'] });
        expect(answer.status).toBe(404);
        expect(answer.body).toMatchObject({ error: { code: 'CONNECTION_NOT_FOUND' } });
      }
    }
  });

  it('a worker that dies is forked again and comes back as the same node', async () => {
    const before = workerPid(1);
    expect(before).toBeGreaterThan(0);
    const doomed = await viewerOn(1, 'video:wk-d');
    process.kill(before as number, 'SIGKILL');
    await waitFor('its viewer cut off', () => doomed.closed);
    const after = await waitFor('worker 1 forked again', () => {
      const pid = workerPid(1);
      return pid !== undefined && pid !== before ? pid : undefined;
    });
    expect(after).not.toBe(before);
    const back = await viewerOn(1, 'video:wk-d');
    expect(nodeOf(back)).toBe(`${MACHINE}-1`);
    expect((await publish('video:wk-d', 'comment', { text: 'after the restart' })).status).toBe(202);
    const comment = await waitFor('the comment', () => back.events('comment')[0]);
    expect(comment.data).toEqual({ text: 'after the restart' });
    expect(machine.exited).toBe(false);
  });

  it('/livez on the shared port answers while one worker is stopped: only the connection handed to it waits', async () => {
    const stopped = workerPid(1) as number;
    process.kill(stopped, 'SIGSTOP');
    try {
      // The primary hands a worker a new connection only once it took the last: a stopped worker
      // holds one probe, every other goes to the worker that answers.
      const probes = await Promise.all(
        Array.from({ length: 6 }, () =>
          fetch(`${machine.url}/livez`, { signal: AbortSignal.timeout(2000) })
            .then((response) => response.status)
            .catch(() => 0),
        ),
      );
      expect(probes.filter((status) => status === 200).length).toBeGreaterThanOrEqual(5);
    } finally {
      process.kill(stopped, 'SIGCONT');
    }
  });

  it('SIGTERM to the primary drains every worker: each viewer is told to reconnect, then all exit', async () => {
    const a = await viewerOn(0, 'video:wk-e');
    const b = await viewerOn(1, 'video:wk-e');
    const code = await machine.kill('SIGTERM');
    expect(code).toBe(0);
    for (const viewer of [a, b]) {
      expect(viewer.frames.some((f) => f.event === 'reconnect')).toBe(true);
      await waitFor('the stream ended', () => viewer.closed);
    }
    expect(workerPid(0)).toBeUndefined();
    expect(workerPid(1)).toBeUndefined();
  });
});
