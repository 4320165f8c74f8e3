import { request } from 'node:http';
import { ConnectTokens } from '@ovation/shared/connect-token';
import { processStats } from '../proc-stats.js';
import { fmt, type Rows } from '../report.js';
import { type RunningProcess, startService, startStack } from '../stack.js';

/*
 * What connection tokens cost a node, and what a flood of bad ones costs it. One dispatcher, two
 * realtime nodes: one in production (a token on every connect), one in development (tokenless),
 * measured in the same run and in turns, so the machine's noise falls on both:
 *
 *   - connects/s with a valid token (each a fresh token: no cache hit) against tokenless, at a
 *     fixed concurrency, each stream closed once `connected` arrived;
 *   - a flood of forged tokens (the header this tier signs, a wrong signature) and of garbage from
 *     one address: answers/s, the node's CPU seconds and RSS, against a node that screens an address
 *     after MAX_REFUSALS_PER_IP refusals (the default, 100 per 10 s: then 429 unheard) and one that
 *     does not (the bound set out of reach).
 *
 * Every token is signed before its run starts: the load generator shares the machine's two cores.
 */

export interface ConnectAuthOptions {
  connects: number;
  concurrency: number;
  flood: number;
}

const SECRET = 'bench-connect-token-secret-0123456789abcdef';
const TOPIC = 'video:bench-auth';

/** One GET /connect: resolves with its status once `connected` arrived (then closes) or on an error answer. */
function connectOnce(url: string): Promise<number> {
  return new Promise((resolve) => {
    const req = request(url, { headers: { accept: 'text/event-stream' }, agent: false }, (res) => {
      if (res.statusCode !== 200) {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
        return;
      }
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        text += chunk;
        if (text.includes('event: connected')) {
          req.destroy();
          resolve(200);
        }
      });
    });
    req.on('error', () => resolve(0));
    req.end();
  });
}

/** Runs `count` connects, `concurrency` at a time; the URL of each from `urlFor(i)`. */
async function run(count: number, concurrency: number, urlFor: (i: number) => string) {
  const statuses = new Map<number, number>();
  let next = 0;
  const started = process.hrtime.bigint();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < count) {
        const status = await connectOnce(urlFor(next++));
        statuses.set(status, (statuses.get(status) ?? 0) + 1);
      }
    }),
  );
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  return { perSecond: count / seconds, statuses: Object.fromEntries(statuses) as Record<number, number> };
}

function usage(node: RunningProcess) {
  const { cpuSeconds, rssBytes } = processStats(node.pid);
  return { cpuSeconds, rssMb: rssBytes / 1024 / 1024 };
}

export async function runConnectAuth(
  options: ConnectAuthOptions,
): Promise<{ rows: Rows; result: object; ok: boolean }> {
  const stack = await startStack({ engine: 'memory', nodes: 1, realtimeEnv: { CONNECT_TOKEN_SECRET: SECRET } });
  const production = (name: string, extra: Record<string, string> = {}) =>
    startService(
      'realtime',
      { DISPATCHER_URLS: stack.dispatcher.url, NODE_ENV: 'production', CONNECT_TOKEN_SECRET: SECRET, ...extra },
      name,
    );
  const started: RunningProcess[] = [];
  try {
    const screened = await production('realtime-production');
    started.push(screened);
    const unscreened = await production('realtime-production-unscreened', { MAX_REFUSALS_PER_IP: '100000000' });
    started.push(unscreened);
    const development = stack.nodes[0] as RunningProcess;
    const tokens = new ConnectTokens(SECRET);
    const signed = (count: number, from: number) =>
      Array.from(
        { length: count },
        (_, i) => tokens.sign({ viewerId: `u-bench-${from + i}`, topics: [TOPIC], observe: [] }).token,
      );
    const half = Math.ceil(options.connects / 2);
    const batches = [signed(200, 0), signed(half, 1000), signed(half, 1000 + half)];
    // Warm both up, then alternate halves: tokenless, token, tokenless, token.
    await run(200, options.concurrency, () => `${development.url}/connect?topics=${TOPIC}`);
    await run(200, options.concurrency, (i) => `${screened.url}/connect?topics=${TOPIC}&token=${batches[0]?.[i]}`);
    const plain = [];
    const withToken = [];
    for (let round = 1; round <= 2; round++) {
      plain.push(await run(half, options.concurrency, () => `${development.url}/connect?topics=${TOPIC}`));
      withToken.push(
        await run(
          half,
          options.concurrency,
          (i) => `${screened.url}/connect?topics=${TOPIC}&token=${batches[round]?.[i]}`,
        ),
      );
    }
    const rate = (runs: Array<{ perSecond: number }>) => runs.reduce((n, r) => n + r.perSecond, 0) / runs.length;

    const valid = batches[0]?.[0] ?? '';
    const body = valid.slice(0, valid.lastIndexOf('.'));
    const forgedTokens = Array.from(
      { length: options.flood },
      (_, i) => `${body}.${Buffer.from(`forged-${i}`).toString('base64url')}`,
    );
    const flood = async (node: RunningProcess, urlFor: (i: number) => string) => {
      const before = usage(node);
      const outcome = await run(options.flood, options.concurrency, urlFor);
      const after = usage(node);
      return {
        ...outcome,
        cpuSeconds: after.cpuSeconds - before.cpuSeconds,
        rssBefore: before.rssMb,
        rssAfter: after.rssMb,
      };
    };
    const floods = {
      forgedUnscreened: await flood(
        unscreened,
        (i) => `${unscreened.url}/connect?topics=${TOPIC}&token=${forgedTokens[i]}`,
      ),
      forgedScreened: await flood(screened, (i) => `${screened.url}/connect?topics=${TOPIC}&token=${forgedTokens[i]}`),
      garbageUnscreened: await flood(unscreened, (i) => `${unscreened.url}/connect?topics=${TOPIC}&token=garbage-${i}`),
    };
    const refusedAll = (r: { statuses: Record<number, number> }) =>
      (r.statuses[401] ?? 0) + (r.statuses[429] ?? 0) === options.flood;
    const ok =
      plain.every((r) => r.statuses[200] === half) &&
      withToken.every((r) => r.statuses[200] === half) &&
      floods.forgedUnscreened.statuses[401] === options.flood &&
      refusedAll(floods.forgedScreened) &&
      (floods.forgedScreened.statuses[429] ?? 0) > 0 &&
      floods.garbageUnscreened.statuses[401] === options.flood;
    const floodRow = (f: (typeof floods)[keyof typeof floods]) =>
      `${fmt(f.perSecond)}/s, ${fmt((f.cpuSeconds * 1e6) / options.flood)} µs CPU each, RSS ${fmt(f.rssBefore, 1)} → ${fmt(f.rssAfter, 1)} MB (${Object.entries(
        f.statuses,
      )
        .map(([status, n]) => `${fmt(n)}×${status}`)
        .join(', ')})`;
    const rows: Rows = [
      [
        'connects, each closed at `connected`',
        `${fmt(options.connects)} per variant, ${options.concurrency} at a time`,
      ],
      ['connects/s tokenless (development node)', fmt(rate(plain))],
      ['connects/s with a token (production node)', fmt(rate(withToken))],
      [`forged tokens ×${fmt(options.flood)}, unscreened`, floodRow(floods.forgedUnscreened)],
      [`forged tokens ×${fmt(options.flood)}, screened (default)`, floodRow(floods.forgedScreened)],
      [`garbage tokens ×${fmt(options.flood)}, unscreened`, floodRow(floods.garbageUnscreened)],
    ];
    return { rows, result: { plain, withToken, floods }, ok };
  } finally {
    for (const node of started) await node.stop();
    await stack.stop();
  }
}
