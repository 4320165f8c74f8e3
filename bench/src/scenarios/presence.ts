import { MemoryPresence, type PresenceStore, RedisPresence } from '@ovation/dispatcher/presence';
import { MAX_PRESENCE_MEMBERS_PER_MESSAGE, NodePresenceSchema } from '@ovation/shared';
import { openRedis, type RedisClient, redisReady } from '@ovation/shared/redis';
import { processStats } from '../proc-stats.js';
import { fmt, type Rows } from '../report.js';
import { type RunningProcess, startRedis, startRedisCluster } from '../stack.js';
import { churn, type Traffic } from './presence-churn.js';
import {
  GUEST_EVERY,
  messages,
  quantile,
  REFRESH_MS,
  SETTINGS,
  SimNodes,
  sleep,
  TOPIC,
  Watchers,
} from './presence-model.js';

/*
 * Presence at scale (issue 18): one topic with `watchers` viewers (every tenth a guest), its store
 * driven in this process as a dispatcher drives it — memory, one Redis server, a Redis Cluster (3
 * masters + 3 replicas, started here on free ports), in the same run:
 *
 *   heartbeats  full refreshes (every member, as nodes send them every TTL/3) in messages of
 *               5,000, one at a time and all 20 at once, alternated; this process's CPU is the
 *               dispatcher's, the Redis masters' read from /proc. The body parse and validation a
 *               dispatcher adds per message is measured apart.
 *   settle      the delayed check of the whole topic when nothing changed, and after 1,000 joined
 *               and 1,000 left (their grace passed), each change checked against the model
 *   list        `list(topic, cursor, 100)` at random cursors, each page checked against the model
 *   traffic     1 % churn per second through the real PresenceDuty (presence-churn.ts)
 */

export type PresenceEngine = 'memory' | 'redis' | 'cluster';

export interface PresenceOptions {
  engines: PresenceEngine[];
  watchers: number;
  /** Seconds of churn in the traffic phase. */
  seconds: number;
}

const CHURN_SHARE = 0.01;
const HEARTBEAT_ROUNDS = 6;
const SETTLE_ROUNDS = 5;
const SETTLE_CHURN = 1000;
const LIST_CALLS = 1000;
const PAGE = 100;

/** The store, and the Redis masters whose CPU its work costs. */
interface Target {
  engine: PresenceEngine;
  store: PresenceStore;
  redisPids: number[];
  close(): Promise<void>;
}

interface Cost {
  wallUs: number;
  cpuUs: number;
  redisUs: number;
}

interface EngineResult {
  engine: PresenceEngine;
  fillMs: number;
  heartbeat: {
    /** Per member-heartbeat. */
    sequential: Cost;
    parallel: Cost;
    /** Member-heartbeats/s with all 20 messages of a refresh in flight at once, measured. */
    measured: number;
    /** Member-heartbeats/s one dispatcher core takes, its body parse + validation included. */
    perDispatcherCore: number;
  };
  settle: { unchangedMs: number[]; changedMs: number[]; publishedMs: number[] };
  list: { p50Ms: number; p99Ms: number; maxMs: number };
  traffic: Traffic;
  failures: string[];
}

export async function runPresence(options: PresenceOptions): Promise<{ rows: Rows; result: object; ok: boolean }> {
  const parseUs = bodyParseUs();
  const results: EngineResult[] = [];
  for (const engine of options.engines) {
    const target = await openTarget(engine);
    try {
      results.push(await runEngine(target, options, parseUs));
    } finally {
      await target.close();
    }
  }
  const ok = results.every((r) => r.failures.length === 0);
  return { rows: toRows(options, parseUs, results), result: { options, settings: SETTINGS, parseUs, results }, ok };
}

async function openTarget(engine: PresenceEngine): Promise<Target> {
  if (engine === 'memory') return { engine, store: new MemoryPresence(SETTINGS), redisPids: [], close: async () => {} };
  const server = engine === 'redis' ? await startRedis() : undefined;
  const cluster = engine === 'cluster' ? await startRedisCluster() : undefined;
  const masters: RunningProcess[] = server ? [server] : (cluster?.shards ?? []);
  const client: RedisClient = openRedis(
    server
      ? { kind: 'server', url: server.url }
      : {
          kind: 'cluster',
          nodes: (cluster?.seeds ?? '').split(',').map((seed) => {
            const [host = '127.0.0.1', port = '0'] = seed.split(':');
            return { host, port: Number(port) };
          }),
        },
    // As the dispatcher opens it (plugins/registry.ts).
    { commandTimeoutMs: 2000, maxRetriesPerRequest: 1 },
  );
  client.on('error', () => {});
  const close = async () => {
    client.disconnect();
    await server?.stop();
    await cluster?.stop();
  };
  const deadline = Date.now() + 20_000;
  while (!redisReady(client)) {
    if (Date.now() > deadline) {
      await close();
      throw new Error(`${engine}: the Redis client was not ready within 20 s`);
    }
    await sleep(50);
  }
  return { engine, store: new RedisPresence(client, 'bench', SETTINGS), redisPids: masters.map((m) => m.pid), close };
}

/** Wall time, this process's CPU and the Redis masters' CPU over a piece of work, in ms. */
async function measure(target: Target, work: () => Promise<void>) {
  const redisCpu = () => target.redisPids.reduce((sum, pid) => sum + processStats(pid).cpuSeconds, 0);
  const redisBefore = redisCpu();
  const cpuBefore = process.cpuUsage();
  const started = performance.now();
  await work();
  const wallMs = performance.now() - started;
  const cpu = process.cpuUsage(cpuBefore);
  return { wallMs, cpuMs: (cpu.user + cpu.system) / 1000, redisMs: (redisCpu() - redisBefore) * 1000 };
}

async function runEngine(target: Target, options: PresenceOptions, parseUs: number): Promise<EngineResult> {
  const { store } = target;
  const failures: string[] = [];
  const watchers = new Watchers();
  const nodes = new SimNodes(store, watchers);
  let seq = 0;

  // Everyone joins, as their nodes' first messages say; the joins settled and published.
  const fill = await measure(target, async () => {
    nodes.refreshed();
    await nodes.send(watchers.add(options.watchers));
  });
  const joins = await store.settle(TOPIC, `s${++seq}`);
  if (joins) await store.published(TOPIC, joins.seq);

  // 1. Heartbeats: full refreshes, one message at a time and all at once, alternated.
  const totals = { sequential: { wallMs: 0, cpuMs: 0, redisMs: 0 }, parallel: { wallMs: 0, cpuMs: 0, redisMs: 0 } };
  for (let round = 0; round < HEARTBEAT_ROUNDS; round++) {
    const parallel = round % 2 === 1;
    const parts = messages(watchers.members, []);
    const m = await measure(target, async () => {
      if (parallel) await Promise.all(parts.map((part) => store.report(part)));
      else for (const part of parts) await store.report(part);
    });
    nodes.refreshed();
    const into = parallel ? totals.parallel : totals.sequential;
    into.wallMs += m.wallMs;
    into.cpuMs += m.cpuMs;
    into.redisMs += m.redisMs;
  }
  const beats = (HEARTBEAT_ROUNDS / 2) * watchers.members.length;
  const perBeat = (m: { wallMs: number; cpuMs: number; redisMs: number }): Cost => ({
    wallUs: (m.wallMs * 1000) / beats,
    cpuUs: (m.cpuMs * 1000) / beats,
    redisUs: (m.redisMs * 1000) / beats,
  });
  const parallel = perBeat(totals.parallel);
  const heartbeat = {
    sequential: perBeat(totals.sequential),
    parallel,
    measured: 1e6 / parallel.wallUs,
    perDispatcherCore: 1e6 / (parseUs + parallel.cpuUs),
  };

  // 2. Settles of the whole topic: nothing changed, then 1,000 joined and 1,000 left.
  const settle = { unchangedMs: [] as number[], changedMs: [] as number[], publishedMs: [] as number[] };
  for (let round = 0; round < SETTLE_ROUNDS; round++) {
    await nodes.keepFresh();
    let started = performance.now();
    const none = await store.settle(TOPIC, `s${++seq}`);
    settle.unchangedMs.push(performance.now() - started);
    if (none) {
      failures.push(`a settle with nothing changed returned a change (count ${none.count})`);
      await store.published(TOPIC, none.seq);
    }
    const left = watchers.remove(SETTLE_CHURN);
    const joined = watchers.add(SETTLE_CHURN);
    await nodes.send(joined, left);
    await sleep(SETTINGS.graceMs + 200);
    started = performance.now();
    const change = await store.settle(TOPIC, `s${++seq}`);
    settle.changedMs.push(performance.now() - started);
    if (!change) {
      failures.push(`a settle after ${SETTLE_CHURN} joined and ${SETTLE_CHURN} left returned no change`);
      continue;
    }
    started = performance.now();
    await store.published(TOPIC, change.seq);
    settle.publishedMs.push(performance.now() - started);
    const joinedAccounts = joined.filter((m) => m.name !== undefined).length;
    const leftAccounts = left.filter((m) => m.name !== undefined).length;
    if (
      change.joined.length + change.more.joined !== joinedAccounts ||
      change.left.length + change.more.left !== leftAccounts ||
      change.count !== watchers.accounts ||
      change.guests !== watchers.guests
    ) {
      failures.push(
        `settle: joined ${change.joined.length}+${change.more.joined}, left ${change.left.length}+${change.more.left}, ` +
          `count ${change.count}, guests ${change.guests}; expected ${joinedAccounts}, ${leftAccounts}, ` +
          `${watchers.accounts}, ${watchers.guests}`,
      );
    }
  }

  // 3. The paged list at random cursors, each page checked against the model.
  await nodes.keepFresh();
  const ids = watchers.members
    .filter((m) => m.name !== undefined)
    .map((m) => m.id)
    .sort();
  const listMs: number[] = [];
  let wrongPages = 0;
  for (let call = 0; call < LIST_CALLS; call++) {
    if (call % 100 === 0) await nodes.keepFresh();
    const at = Math.floor(Math.random() * ids.length);
    const started = performance.now();
    const page = await store.list(TOPIC, ids[at], PAGE);
    listMs.push(performance.now() - started);
    const expected = ids.slice(at + 1, at + 1 + PAGE);
    if (
      page.count !== watchers.accounts ||
      page.viewers.length !== expected.length ||
      page.viewers.some((v, i) => v.id !== expected[i])
    )
      wrongPages++;
  }
  if (wrongPages > 0) failures.push(`${wrongPages} of ${LIST_CALLS} pages differ from the accounts present`);

  // 4. Traffic under churn, through the real duty.
  const traffic = await churn(store, nodes, { seconds: options.seconds, perSecond: perSecondOf(options) }, failures);

  return {
    engine: target.engine,
    fillMs: fill.wallMs,
    heartbeat,
    settle,
    list: { p50Ms: quantile(listMs, 0.5), p99Ms: quantile(listMs, 0.99), maxMs: quantile(listMs, 1) },
    traffic,
    failures,
  };
}

const perSecondOf = (options: PresenceOptions) => Math.max(1, Math.round(options.watchers * CHURN_SHARE));

/** µs per member a dispatcher spends on a message's body: JSON.parse and NodePresenceSchema (median). */
function bodyParseUs(): number {
  const members = new Watchers().add(MAX_PRESENCE_MEMBERS_PER_MESSAGE);
  const body = JSON.stringify({ nodeId: 'node-1', topics: { [TOPIC]: { present: members, gone: [] } } });
  const rounds: number[] = [];
  for (let round = 0; round < 7; round++) {
    const started = performance.now();
    for (let i = 0; i < 4; i++) NodePresenceSchema.parse(JSON.parse(body));
    rounds.push(((performance.now() - started) * 1000) / (4 * members.length));
  }
  // The first rounds warm up.
  return quantile(rounds.slice(2), 0.5);
}

function toRows(options: PresenceOptions, parseUs: number, results: EngineResult[]): Rows {
  const rows: Rows = [
    ['watchers', `${fmt(options.watchers)} on one topic (every ${GUEST_EVERY}th a guest)`],
    [
      'settings',
      `TTL ${fmt(SETTINGS.ttlMs)} ms (refresh every ${fmt(REFRESH_MS)} ms), grace ${fmt(SETTINGS.graceMs)} ms, duty every 1,000 ms`,
    ],
    ['dispatcher: body parse + validate', `${fmt(parseUs, 2)} µs per member (JSON.parse + NodePresenceSchema)`],
  ];
  for (const r of results) {
    const e = r.engine;
    const cost = (c: Cost) =>
      `${fmt(c.wallUs, 2)} µs wall, ${fmt(c.cpuUs, 2)} µs dispatcher CPU` +
      `${e === 'memory' ? '' : `, ${fmt(c.redisUs, 2)} µs Redis CPU`} per member`;
    const ms = (values: number[]) => `${fmt(quantile(values, 0.5), 2)} ms (max ${fmt(quantile(values, 1), 2)})`;
    const t = r.traffic;
    rows.push(
      [`${e}: first report of everyone (all joins)`, `${fmt(r.fillMs)} ms`],
      [`${e}: heartbeat, messages one at a time`, cost(r.heartbeat.sequential)],
      [`${e}: heartbeat, 20 messages at once`, cost(r.heartbeat.parallel)],
      [
        `${e}: member-heartbeats/s`,
        `${fmt(r.heartbeat.measured)} measured (20 at once); ${fmt(r.heartbeat.perDispatcherCore)} per dispatcher ` +
          `core with the body parse = ${fmt((r.heartbeat.perDispatcherCore * REFRESH_MS) / 1000)} watchers kept fresh`,
      ],
      [`${e}: settle, nothing changed`, ms(r.settle.unchangedMs)],
      [
        `${e}: settle, ${fmt(SETTLE_CHURN)} joined + ${fmt(SETTLE_CHURN)} left`,
        `${ms(r.settle.changedMs)}; published ${ms(r.settle.publishedMs)}`,
      ],
      [
        `${e}: list(cursor, ${PAGE})`,
        `p50 ${fmt(r.list.p50Ms, 3)} ms, p99 ${fmt(r.list.p99Ms, 3)} ms, max ${fmt(r.list.maxMs, 3)} ms ` +
          `(${fmt(LIST_CALLS)} random cursors)`,
      ],
      [
        `${e}: presence events (${fmt(t.churnPerSecond)} in + out /s, ${fmt(t.windowSeconds, 1)} s)`,
        `${fmt(t.events / t.windowSeconds, 2)}/s per topic, at most ${t.maxEventsPerRound} per round; ` +
          `mean frame ${fmt(t.meanFrameBytes)} B, ${fmt(t.meanNames, 1)} names`,
      ],
      [
        `${e}: presence bytes per viewer`,
        `${fmt(t.bytesPerViewerPerSecond)} B/s (${fmt((t.bytesPerViewerPerSecond * options.watchers) / 1e6, 1)} MB/s ` +
          `to all watchers); one event per join/leave: ${fmt(t.naive.eventsPerSecond)} events/s, ` +
          `${fmt(t.naive.bytesPerViewerPerSecond)} B/s ` +
          `(${fmt(t.naive.bytesPerViewerPerSecond / Math.max(1, t.bytesPerViewerPerSecond), 1)}×)`,
      ],
      [
        `${e}: under churn`,
        `duty round p50 ${fmt(t.dutyRoundMs.p50, 1)} ms (max ${fmt(t.dutyRoundMs.max, 1)}), node flush ` +
          `(${fmt(perSecondOf(options))} in + out) p50 ${fmt(t.flushMs.p50, 1)} ms (max ${fmt(t.flushMs.max, 1)})`,
      ],
      [
        `${e}: last event`,
        t.last === undefined
          ? 'none'
          : `count ${fmt(t.last.count)}, guests ${fmt(t.last.guests)} — ${r.failures.length === 0 ? 'exact' : 'FAILED'}`,
      ],
      ...r.failures.map((failure): [string, string] => [`${e}: FAILED`, failure]),
    );
  }
  return rows;
}
