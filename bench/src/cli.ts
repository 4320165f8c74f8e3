import { parseArgs } from 'node:util';
import { report } from './report.js';
import { runCoalesce } from './scenarios/coalesce.js';
import { runConnectAuth } from './scenarios/connect-auth.js';
import { runConnections } from './scenarios/connections.js';
import { runDispatch } from './scenarios/dispatch.js';
import { runFanout } from './scenarios/fanout.js';
import { runLive } from './scenarios/live.js';
import { runPresence } from './scenarios/presence.js';
import { runRegistry } from './scenarios/registry.js';
import { runRelay } from './scenarios/relay.js';
import { profileServicesInto } from './stack.js';

const USAGE = `npm run bench -- --scenario <seed|latency|fanout|connections|dispatch|relay|connect-auth|coalesce|presence> [options]

  common     --engine memory|redis|cluster (cluster: dispatch, presence)   --seconds N   --json FILE   --profile DIR (V8 CPU profiles of the services)
             --realtime-env NAME=VALUE (seed, latency)
  seed       10,000 viewers, 100 likes/s + 10 comments/s, 60 s   (--viewers --likes --comments)
  latency    1,000 viewers, 10 comments/s, 30 s                   (--viewers --comments)
  fanout     comment-only closed loop to 10,000 viewers            (--viewers --batch --window --reference)
  connections 100,000 idle viewers on one realtime machine, WORKERS=6 on one port (--viewers; --workers,
             default viewers / 19,000 rounded up; --nodes machines; --reference: 19,000 on bare node:http)
  dispatch   max publishes/s through one dispatcher, Redis registry, 2 nodes (--batch --concurrency --publishers;
             --engine cluster for a Redis Cluster, --wait-replicas N for REDIS_WAIT_REPLICAS)
  registry   1,000 simulated nodes heartbeating 100,000 topics with churn, one Redis server then a cluster:
             Redis commands/s and CPU per shard (--nodes --topics --seconds --heartbeat-ms, default 4000)
  relay      cross-region relay: events/s one dispatcher accepts from another region (--batch --concurrency --topics)
  connect-auth connects/s with a connection token against tokenless, and floods of bad tokens (--viewers N connects, --concurrency, --batch N flood)
  coalesce   cost per like of coalescing a topic's likes into one frame, plain vs with reactions (--likes per round, default 200,000)
  presence   100,000 watchers of one topic: store cost per heartbeat, settles, the paged list, presence bytes per viewer
             at 1 % churn/s (--viewers, --seconds of churn, default 20; memory, one Redis and a cluster unless --engine)`;

const { values } = parseArgs({
  options: {
    scenario: { type: 'string', default: 'seed' },
    engine: { type: 'string' },
    viewers: { type: 'string' },
    seconds: { type: 'string' },
    likes: { type: 'string' },
    comments: { type: 'string' },
    batch: { type: 'string' },
    window: { type: 'string', default: '500' },
    nodes: { type: 'string' },
    workers: { type: 'string' },
    concurrency: { type: 'string', default: '16' },
    publishers: { type: 'string', default: '1' },
    'wait-replicas': { type: 'string' },
    topics: { type: 'string' },
    'heartbeat-ms': { type: 'string' },
    reference: { type: 'boolean', default: false },
    json: { type: 'string' },
    'realtime-env': { type: 'string', multiple: true },
    profile: { type: 'string' },
    help: { type: 'boolean', default: false },
  },
});

function num(name: string, raw: string | undefined, fallback: number, min = 1): number {
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value < min) {
    process.stderr.write(`--${name} must be a number >= ${min}\n\n${USAGE}\n`);
    process.exit(2);
  }
  return value;
}

if (values.help) {
  process.stdout.write(`${USAGE}\n`);
  process.exit(0);
}
// The dispatch scenario is about the Redis registry; the others default to the embedded engine.
const engineName = values.engine ?? (values.scenario === 'dispatch' ? 'redis' : 'memory');
const engine = engineName === 'redis' ? 'redis' : engineName === 'memory' ? 'memory' : undefined;
// A Redis Cluster is for the scenarios about the store: dispatch and presence (registry runs both).
const clusterEngine = engineName === 'cluster' && (values.scenario === 'dispatch' || values.scenario === 'presence');
if (!engine && !clusterEngine) {
  process.stderr.write(
    `--engine must be memory or redis (or cluster, with --scenario dispatch or presence)\n\n${USAGE}\n`,
  );
  process.exit(2);
}

if (values.profile) profileServicesInto(values.profile);

let outcome: { rows: Array<[string, string | number]>; result: object; ok: boolean };
switch (values.scenario) {
  case 'seed':
  case 'latency': {
    const seed = values.scenario === 'seed';
    outcome = await runLive({
      name: values.scenario,
      engine: engine ?? 'memory',
      viewers: num('viewers', values.viewers, seed ? 10_000 : 1000),
      likesPerSecond: num('likes', values.likes, seed ? 100 : 0, 0),
      commentsPerSecond: num('comments', values.comments, 10, 0),
      seconds: num('seconds', values.seconds, seed ? 60 : 30),
      realtimeEnv: Object.fromEntries((values['realtime-env'] ?? []).map((kv) => kv.split('=', 2) as [string, string])),
    });
    break;
  }
  case 'fanout':
    outcome = await runFanout({
      viewers: num('viewers', values.viewers, 10_000),
      seconds: num('seconds', values.seconds, 10),
      batch: num('batch', values.batch, 20),
      window: num('window', values.window, 500),
      reference: values.reference,
    });
    break;
  case 'connections': {
    const heartbeatMs = num('heartbeat-ms', values['heartbeat-ms'], 15_000);
    const viewers = num('viewers', values.viewers, 100_000);
    const nodes = num('nodes', values.nodes, 1);
    outcome = await runConnections({
      viewers,
      nodes,
      // A worker holds at most ~19,900 sockets here (open files: 20,000 per process).
      workers: num('workers', values.workers, Math.ceil(viewers / nodes / 19_000)),
      holdSeconds: num('seconds', values.seconds, Math.ceil((heartbeatMs * 1.2) / 1000)),
      heartbeatMs,
      reference: values.reference,
    });
    break;
  }
  case 'dispatch':
    outcome = await runDispatch({
      engine: clusterEngine ? 'cluster' : (engine ?? 'redis'),
      waitReplicas:
        values['wait-replicas'] === undefined ? undefined : num('wait-replicas', values['wait-replicas'], 0, 0),
      seconds: num('seconds', values.seconds, 10),
      batch: num('batch', values.batch, 100),
      concurrency: num('concurrency', values.concurrency, 16),
      publishers: num('publishers', values.publishers, 1),
      topics: num('topics', values.topics, 10),
    });
    break;
  case 'registry':
    outcome = await runRegistry({
      seconds: num('seconds', values.seconds, 20),
      nodes: num('nodes', values.nodes, 1000),
      topics: num('topics', values.topics, 100_000),
      heartbeatMs: num('heartbeat-ms', values['heartbeat-ms'], 4000),
    });
    break;
  case 'relay':
    outcome = await runRelay({
      seconds: num('seconds', values.seconds, 10),
      batch: num('batch', values.batch, 100),
      concurrency: num('concurrency', values.concurrency, 8),
      topics: num('topics', values.topics, 10),
    });
    break;
  case 'coalesce':
    outcome = await runCoalesce({ likes: num('likes', values.likes, 200_000) });
    break;
  case 'presence':
    outcome = await runPresence({
      // Without --engine: memory, one Redis server and a cluster, in the same run.
      engines:
        values.engine === undefined
          ? ['memory', 'redis', 'cluster']
          : [clusterEngine ? 'cluster' : (engine ?? 'memory')],
      watchers: num('viewers', values.viewers, 100_000),
      seconds: num('seconds', values.seconds, 20),
    });
    break;
  case 'connect-auth':
    outcome = await runConnectAuth({
      connects: num('viewers', values.viewers, 4000),
      concurrency: num('concurrency', values.concurrency, 16),
      flood: num('batch', values.batch, 10_000),
    });
    break;
  default:
    process.stderr.write(`unknown scenario ${values.scenario}\n\n${USAGE}\n`);
    process.exit(2);
}

report(
  `scenario ${values.scenario}${outcome.ok ? '' : ' — FAILED a correctness check'}`,
  outcome.rows,
  outcome.result,
  values.json,
);
process.exit(outcome.ok ? 0 : 1);
