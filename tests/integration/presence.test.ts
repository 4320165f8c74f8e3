import { PresenceListSchema, type TPresenceList, type TPresencePayload } from '@ovation/shared';
import { ConnectTokens } from '@ovation/shared/connect-token';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getJson } from '../../test-support/http.js';
import { waitFor } from '../../test-support/poll.js';
import { TestRedis } from '../../test-support/redis-server.js';
import { ServiceProcess, TEST_TOKEN } from '../../test-support/services.js';
import { TestViewer } from '../../test-support/sse-client.js';

/*
 * Presence as deployed: one Redis, 2 dispatchers, 2 realtime nodes, real processes and SSE
 * viewers holding signed connection tokens (a name for accounts, none for guests).
 *
 *   viewers ─▶ node A ─┐  heartbeats   ┌─ dispatcher 1 ─┐
 *   viewers ─▶ node B ─┴──────────────▶└─ dispatcher 2 ─┴─ Redis (presence keys)
 *
 * A short grace and TTL (2 s, 3 s) keep the file quick; the rules are the same at 10 s and 15 s.
 */

const GRACE_MS = 2000;
const TTL_MS = 3000;
const SECRET = 'presence-test-connect-token-secret-0123456789';
const tokens = new ConnectTokens(SECRET);

let redis: TestRedis;
let d1: ServiceProcess;
let d2: ServiceProcess;
let nodeA: ServiceProcess;
let nodeB: ServiceProcess;
const viewers: TestViewer[] = [];

/** A viewer of `topic` on `node`: an account when `name` is given, a guest otherwise. */
async function watch(node: ServiceProcess, topic: string, id: string, name?: string): Promise<TestViewer> {
  const { token } = tokens.sign({ viewerId: id, topics: [topic], observe: [], ...(name ? { name } : {}) });
  const viewer = await TestViewer.connect(`${node.url}/connect?topics=${topic}&token=${token}`);
  viewers.push(viewer);
  return viewer;
}

function presenceEvents(viewer: TestViewer, topic: string): TPresencePayload[] {
  return viewer
    .events('presence')
    .filter((e) => e.topic === topic)
    .map((e) => e.data as TPresencePayload);
}

async function presenceList(dispatcher: ServiceProcess, topic: string, query = ''): Promise<TPresenceList> {
  const { status, body } = await getJson(`${dispatcher.url}/topics/${topic}/presence${query}`);
  expect(status).toBe(200);
  return PresenceListSchema.parse(body);
}

const joinedIds = (events: TPresencePayload[]) => events.flatMap((e) => e.joined.map((m) => m.id));
const leftIds = (events: TPresencePayload[]) => events.flatMap((e) => e.left.map((m) => m.id));

describe('presence: Redis + 2 dispatchers + 2 realtime nodes', () => {
  beforeAll(async () => {
    redis = await TestRedis.start();
    const dispatcherEnv = {
      REDIS_URL: redis.url,
      REDIS_PREFIX: `presence-${process.pid}`,
      NODE_TTL_MS: '2000',
      PRESENCE_GRACE_MS: String(GRACE_MS),
      PRESENCE_TTL_MS: String(TTL_MS),
      PRESENCE_INTERVAL_MS: '200',
    };
    [d1, d2] = await Promise.all([
      ServiceProcess.start('dispatcher', dispatcherEnv, 'dispatcher-1'),
      ServiceProcess.start('dispatcher', dispatcherEnv, 'dispatcher-2'),
    ]);
    const nodeEnv = (id: string, urls: string) => ({
      NODE_ID: id,
      DISPATCHER_URLS: urls,
      NODE_HEARTBEAT_MS: '400',
      PRESENCE_FLUSH_MS: '200',
      CONNECT_TOKEN_SECRET: SECRET,
    });
    [nodeA, nodeB] = await Promise.all([
      ServiceProcess.start('realtime', nodeEnv('node-a', `${d1.url},${d2.url}`), 'node-a'),
      ServiceProcess.start('realtime', nodeEnv('node-b', `${d2.url},${d1.url}`), 'node-b'),
    ]);
  });

  afterAll(async () => {
    for (const viewer of viewers) viewer.close();
    await Promise.all([nodeA, nodeB, d1, d2].map((s) => s?.kill('SIGKILL')));
    await redis?.stop();
  });

  it('never reports left a viewer whose connection drops and comes back every 3 s for 30 s, on either node', async () => {
    const topic = 'video:flap';
    const watcher = await watch(nodeA, topic, 'g-watcher');
    let flapper = await watch(nodeA, topic, 'u-fay', 'Fay');
    await waitFor('Fay joined', () => joinedIds(presenceEvents(watcher, topic)).includes('u-fay'));
    const end = Date.now() + 30_000;
    let cycles = 0;
    let droppedAt = 0;
    while (Date.now() < end) {
      await new Promise((resolve) => setTimeout(resolve, 3000));
      flapper.close();
      droppedAt = Date.now();
      // Back a moment later, on the other node (a phone that changed networks and balancers).
      await new Promise((resolve) => setTimeout(resolve, 300 + (cycles % 3) * 300));
      flapper = await watch(cycles % 2 === 0 ? nodeB : nodeA, topic, 'u-fay', 'Fay');
      cycles++;
      const list = await presenceList(cycles % 2 === 0 ? d1 : d2, topic);
      expect(list.viewers.map((v) => v.id)).toEqual(['u-fay']);
    }
    expect(cycles).toBeGreaterThanOrEqual(9);
    const events = presenceEvents(watcher, topic);
    expect(joinedIds(events)).toEqual(['u-fay']);
    expect(leftIds(events)).toEqual([]);

    // Gone for good: left once, the grace after their heartbeat expired — at the last drop, or
    // now (a connection that closes before its node's next flush was never announced).
    const goneAt = Date.now();
    flapper.close();
    await waitFor('Fay left', () => leftIds(presenceEvents(watcher, topic)).includes('u-fay'), { timeoutMs: 10_000 });
    expect(Date.now() - droppedAt).toBeGreaterThanOrEqual(GRACE_MS - 100);
    expect(Date.now() - goneAt).toBeLessThan(GRACE_MS + 1500);
    expect(leftIds(presenceEvents(watcher, topic))).toEqual(['u-fay']);
    expect((await presenceList(d1, topic)).count).toBe(0);
  });

  it('marks the viewers of a node killed with SIGKILL left within grace + TTL, each exactly once', async () => {
    const topic = 'video:crash';
    const watcher = await watch(nodeA, topic, 'g-watcher-2');
    const names = ['Ada', 'Ben', 'Cy', 'Dee', 'Eve'];
    for (const [i, name] of names.entries()) await watch(nodeB, topic, `u-${i}`, name);
    for (let i = 0; i < 3; i++) await watch(nodeB, topic, `g-crash-${i}`);
    await waitFor('all five joined', () => joinedIds(presenceEvents(watcher, topic)).length === 5);
    const list = await waitFor('the guests counted too', async () => {
      const page = await presenceList(d2, topic, '?limit=2');
      return page.guests === 4 ? page : undefined;
    });
    expect(list).toMatchObject({ count: 5, guests: 4, next: 'u-1' });
    expect(list.viewers.map((v) => v.name)).toEqual(['Ada', 'Ben']);
    const rest = await presenceList(d1, topic, `?cursor=${list.next}&limit=10`);
    expect(rest.viewers.map((v) => v.name)).toEqual(['Cy', 'Dee', 'Eve']);
    expect(rest.next).toBeNull();

    const killedAt = Date.now();
    await nodeB.kill('SIGKILL');
    await waitFor('all five left', () => leftIds(presenceEvents(watcher, topic)).length >= 5, { timeoutMs: 20_000 });
    const took = Date.now() - killedAt;
    expect(took).toBeLessThan(GRACE_MS + TTL_MS + 1500);
    expect(leftIds(presenceEvents(watcher, topic)).sort()).toEqual(['u-0', 'u-1', 'u-2', 'u-3', 'u-4']);
    const last = presenceEvents(watcher, topic).at(-1);
    await waitFor('only the watcher is left', async () => {
      const now = await presenceList(d1, topic);
      return now.count === 0 && now.guests === 1;
    });
    expect(last?.count).toBe(0);
    // Nothing more about them afterwards (exactly once).
    await new Promise((resolve) => setTimeout(resolve, 1000));
    expect(leftIds(presenceEvents(watcher, topic))).toHaveLength(5);
  });

  it('answers the online look-up (internal) and refuses bad presence queries with the contract error', async () => {
    await watch(nodeA, 'video:online', 'u-olga', 'Olga');
    const auth = { authorization: `Bearer ${TEST_TOKEN}` };
    await waitFor('Olga online', async () => {
      const response = await fetch(`${d1.url}/presence/online?users=u-olga,u-nobody`, { headers: auth });
      const body = (await response.json()) as { online: Record<string, boolean> };
      return body.online['u-olga'] === true ? body : undefined;
    }).then((body) => expect(body).toEqual({ online: { 'u-olga': true, 'u-nobody': false } }));
    expect((await getJson(`${d1.url}/presence/online?users=u-olga`)).status).toBe(401);
    const bad = await getJson(`${d1.url}/topics/video:online/presence?limit=100000`);
    expect(bad.status).toBe(400);
    expect(bad.body).toMatchObject({ error: { code: 'VALIDATION_FAILED' } });
  });
});
