import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { clusterPorts } from '@ovation/shared/local-redis-cluster';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '../../test-support/poll.js';
import { repoPath } from './read.js';

/*
 * The scripts the Redis Cluster of deploy/k8s/redis-cluster and deploy/compose/compose.cluster.yaml
 * run, run here on six local redis-servers as the pods run them (node timeout 1 s instead of 5):
 * create-cluster.sh forms the cluster once and leaves an existing one alone; start-node.sh brings
 * back a cluster whose nodes all restarted somewhere else (addresses stale in every nodes.conf),
 * which plain redis-server does not, retrying names that do not resolve yet, and brings a master
 * killed and restarted at once back as a replica, once its replica took over with the writes WAIT
 * confirmed, however long that takes. The nodes here keep no data (as Compose's): a master back as
 * master would come back empty.
 */

const run = promisify(execFile);
const SCRIPTS = repoPath('deploy/k8s/redis-cluster');
/** An address nothing answers at (TEST-NET-1): where every node "was" before it moved. */
const GONE = '192.0.2.1';

const dir = mkdtempSync(join(tmpdir(), 'ovation-redis-cluster-scripts-'));
/** `said`: what start-node.sh wrote to stderr since the node was last started. */
type Node = { port: number; conf: string; process?: ChildProcess; said?: string };
const nodes: Node[] = [];
const seeds = () => nodes.map((n) => `127.0.0.1:${n.port}`).join(',');

/** A node as the StatefulSet starts it: through start-node.sh, or (`plain`) redis-server alone. */
function start(node: (typeof nodes)[number], plain = false): void {
  const args = [
    '--port',
    String(node.port),
    '--bind',
    '127.0.0.1',
    '--cluster-enabled',
    'yes',
    '--cluster-config-file',
    node.conf,
    '--cluster-node-timeout',
    '1000',
    '--cluster-announce-ip',
    '127.0.0.1',
    // The pod's stable DNS name there; here a name that resolves to where the node is now.
    '--cluster-announce-hostname',
    '127.0.0.1',
    '--dir',
    dir,
    '--save',
    '',
    '--appendonly',
    'no',
    '--loglevel',
    'warning',
  ];
  node.said = '';
  node.process = plain
    ? spawn('redis-server', args, { stdio: 'ignore' })
    : spawn('sh', [join(SCRIPTS, 'start-node.sh'), ...args], {
        stdio: ['ignore', 'ignore', 'pipe'],
        env: { ...process.env, REDIS_NODES_CONF: node.conf },
      });
  node.process.stderr?.setEncoding('utf8').on('data', (text: string) => {
    node.said += text;
  });
}

/** SIGKILLs a node (an OOM kill, a machine gone) and waits for it to be gone. */
async function kill(node: Node): Promise<void> {
  const child = node.process;
  node.process = undefined;
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGKILL');
  await exited;
}

async function stopAll(): Promise<void> {
  await Promise.all(nodes.map(kill));
}

async function cli(port: number, ...args: string[]): Promise<string> {
  return (await run('redis-cli', ['-p', String(port), ...args])).stdout.trim();
}

async function clusterInfo(port: number): Promise<Record<string, string>> {
  const lines = (await cli(port, 'cluster', 'info')).split(/\r?\n/);
  return Object.fromEntries(lines.map((line) => line.split(':')));
}

/**
 * Waits for every node to answer PING. Through start-node.sh a master of a cluster restarted whole
 * may wait up to its give-up bound first (8 × the node timeout of 1 s + 4 s = 12 s, and one more
 * survey of its peers): another master that came back a moment sooner keeps it waiting for a
 * takeover (a CI run saw a node miss a 10 s deadline). What the script said is in the error.
 */
async function allAnswer(timeoutMs = 10_000): Promise<void> {
  for (const node of nodes) {
    await waitFor(
      `node ${node.port} to answer`,
      async () => (await cli(node.port, 'ping').catch(() => '')) === 'PONG',
      {
        timeoutMs,
      },
    ).catch((error: unknown) => {
      throw new Error(
        `${error instanceof Error ? error.message : String(error)}; start-node.sh said: ${node.said ?? ''}`,
      );
    });
  }
}

async function allOk(): Promise<boolean> {
  const states = await Promise.all(nodes.map(async ({ port }) => (await clusterInfo(port)).cluster_state));
  return states.every((state) => state === 'ok');
}

const ids = () => Promise.all(nodes.map(({ port }) => cli(port, 'cluster', 'myid')));

/** redis-cli's failure while a node is not listening (yet): "not yet", for `waitFor`'s `tolerate`. */
function notListening(error: unknown): boolean {
  return String((error as { stderr?: unknown }).stderr ?? '').includes('Connection refused');
}

/** A node's role, and for a replica the port of its master (ROLE). */
async function role(port: number): Promise<{ role: string; masterPort?: number }> {
  const [name = '', , masterPort] = (await cli(port, 'role')).split(/\r?\n/);
  return name === 'slave' ? { role: name, masterPort: Number(masterPort) } : { role: name };
}

/** Commands on one connection (WAIT applies to the writes of its own connection): their replies. */
async function session(port: number, commands: string[][]): Promise<string[]> {
  const pending = run('redis-cli', ['-p', String(port)]);
  pending.child.stdin?.end(commands.map((command) => `${command.join(' ')}\n`).join(''));
  return (await pending).stdout.trim().split(/\r?\n/);
}

/** A key that hashes to one of the slots the master at `port` holds. */
async function keyServedBy(port: number): Promise<string> {
  const myself = (await cli(port, 'cluster', 'nodes')).split(/\r?\n/).find((line) => line.includes('myself'));
  const ranges = (myself ?? '')
    .split(' ')
    .slice(8)
    .map((range) => range.split('-').map(Number));
  expect(ranges.length, `slots of ${port}`).toBeGreaterThan(0);
  for (let i = 0; ; i++) {
    const slot = Number(await cli(port, 'cluster', 'keyslot', `confirmed-${i}`));
    if (ranges.some(([from = 0, to = from]) => slot >= from && slot <= to)) return `confirmed-${i}`;
  }
}

/**
 * A whole cluster's first master with its replica, and a key of the master's that WAIT confirmed —
 * as a dispatcher confirms a publish: the write, then WAIT for one replica on that connection.
 */
async function confirmedOnAMaster(): Promise<{ master: Node; replica: Node; key: string }> {
  await waitFor('every node to say cluster_state:ok', allOk, { timeoutMs: 20_000, intervalMs: 100 });
  const roles = await Promise.all(nodes.map(async (node) => ({ node, ...(await role(node.port)) })));
  // A master with exactly one replica: after the tests before, nodes restarted elsewhere may have
  // left one master with two (WAIT 1 is then either of them, and the other may be the one promoted).
  const replicasOf = (port: number) => roles.filter((r) => r.role === 'slave' && r.masterPort === port);
  const master = roles.find((r) => r.role === 'master' && replicasOf(r.node.port).length === 1)?.node;
  const replica = master ? replicasOf(master.port)[0]?.node : undefined;
  if (!master?.process || !replica) throw new Error(`no master with a replica: ${JSON.stringify(roles)}`);
  const key = await keyServedBy(master.port);
  expect(
    await session(master.port, [
      ['SET', key, 'confirmed'],
      ['WAIT', '1', '5000'],
    ]),
  ).toEqual(['OK', '1']);
  return { master, replica, key };
}

/**
 * `master`, restarted through start-node.sh, is back as its former replica's replica once that one
 * took over (start-node.sh says so), and the new master has the key WAIT confirmed.
 */
async function expectBackAsReplica(master: Node, replica: Node, key: string): Promise<void> {
  const back = await waitFor(
    'the restarted node to be a replica',
    async () => {
      const now = await role(master.port);
      return now.role === 'slave' ? now : undefined;
    },
    { timeoutMs: 20_000, intervalMs: 100, tolerate: notListening },
  );
  expect(master.said).toContain('its replica took over');
  expect(back.masterPort).toBe(replica.port);
  expect((await role(replica.port)).role).toBe('master');
  expect(await cli(replica.port, 'get', key)).toBe('confirmed');
}

/** create-cluster.sh as the Job runs it: its exit status and what it printed. */
async function createCluster(): Promise<{ code: number; output: string }> {
  const env = { ...process.env, REDIS_NODES: seeds(), CLUSTER_REPLICAS: '1', WAIT_SECONDS: '30' };
  try {
    const { stdout, stderr } = await run('sh', [join(SCRIPTS, 'create-cluster.sh')], { env });
    return { code: 0, output: stdout + stderr };
  } catch (error) {
    const failed = error as { code?: number; stdout?: string; stderr?: string };
    return { code: failed.code ?? -1, output: `${failed.stdout ?? ''}${failed.stderr ?? ''}` };
  }
}

beforeAll(async () => {
  for (const [i, port] of (await clusterPorts(6)).entries()) nodes.push({ port, conf: join(dir, `nodes-${i}.conf`) });
  for (const node of nodes) start(node);
  await allAnswer();
});

afterAll(async () => {
  await stopAll();
  rmSync(dir, { recursive: true, force: true });
});

describe('the Redis Cluster scripts', () => {
  let formedIds: string[] = [];

  it('create-cluster.sh forms the cluster: 3 masters with a replica each, every node ok', async () => {
    const first = await createCluster();
    expect(first.code, first.output).toBe(0);
    expect(first.output).toContain('create-cluster: formed');
    expect(await allOk()).toBe(true);
    const roles = await Promise.all(nodes.map(async ({ port }) => (await cli(port, 'role')).split(/\r?\n/)[0]));
    expect(roles.filter((role) => role === 'master')).toHaveLength(3);
    expect(roles.filter((role) => role === 'slave')).toHaveLength(3);
    formedIds = await ids();
  });

  it('create-cluster.sh run again leaves the cluster as it is', async () => {
    const again = await createCluster();
    expect(again.code, again.output).toBe(0);
    expect(again.output).toContain('nothing to do');
    expect(await ids()).toEqual(formedIds);
  });

  it('start-node.sh brings back a cluster whose nodes all restarted elsewhere; plain redis-server does not', async () => {
    // Every node gone at once, each nodes.conf left naming the others where they no longer are.
    await stopAll();
    for (const { conf } of nodes) {
      const stale = readFileSync(conf, 'utf8').replace(/^(\w+ )127\.0\.0\.1:/gm, `$1${GONE}:`);
      expect(stale).toContain(GONE);
      writeFileSync(conf, stale);
    }

    // Plain redis-server: the nodes keep trying the old addresses and the cluster stays down...
    for (const node of nodes) start(node, true);
    await allAnswer();
    const down = await waitFor('the nodes to see the cluster fail', async () =>
      (await clusterInfo(nodes[0]?.port ?? 0)).cluster_state === 'fail' ? true : undefined,
    );
    expect(down).toBe(true);
    // ...and create-cluster.sh does not make another one over nodes that know each other.
    const refused = await createCluster();
    expect(refused.code, refused.output).toBe(1);
    expect(refused.output).toContain('left as it is');
    expect(await ids()).toEqual(formedIds);

    // Through start-node.sh: the addresses are looked up by name first, and the same cluster is back.
    await stopAll();
    for (const node of nodes) start(node);
    await allAnswer(20_000);
    await waitFor('every node to say cluster_state:ok', allOk, { timeoutMs: 20_000, intervalMs: 100 });
    expect(await ids()).toEqual(formedIds);
    for (const { conf } of nodes) expect(readFileSync(conf, 'utf8')).not.toContain(GONE);
  });

  it("start-node.sh brings a master killed and restarted at once back as its replica's replica, keeping what WAIT confirmed", async () => {
    const { master, replica, key } = await confirmedOnAMaster();

    // Killed (OOM, a machine gone) and started again at once, as a container restart does.
    await kill(master);
    start(master);

    // Its replica took over while it waited; it came back as that one's replica and copied the key
    // (without the wait it is back as the master, empty, and its replica copies that).
    await expectBackAsReplica(master, replica, key);
    await waitFor(
      'the restarted node to finish its sync',
      async () => (await cli(master.port, 'info', 'replication')).includes('master_link_status:up'),
      { timeoutMs: 20_000, intervalMs: 100 },
    );
    expect(await session(master.port, [['READONLY'], ['GET', key]])).toEqual(['OK', 'confirmed']);
    await waitFor('every node to say cluster_state:ok', allOk, { timeoutMs: 20_000, intervalMs: 100 });
  });

  it('start-node.sh holds a restarted master for as long as its replica cannot take over yet, and starts it once it did', async () => {
    const { master, replica, key } = await confirmedOnAMaster();
    if (!replica.process) throw new Error('the replica is not running');

    // Its replica stopped (a machine frozen, a long GC pause) when the master is killed and restarted.
    replica.process.kill('SIGSTOP');
    await kill(master);
    start(master);

    // The other masters answer, so a takeover can still happen: the node is held, past any fixed
    // wait (2 × the node timeout + 2 s, 4 s here), until it does.
    const heldUntil = Date.now() + 6_000;
    while (Date.now() < heldUntil) {
      expect(await cli(master.port, 'ping').catch((error: unknown) => (notListening(error) ? 'held' : error))).toBe(
        'held',
      );
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(master.said).toContain('waiting for its replica to take over');

    replica.process.kill('SIGCONT');
    await expectBackAsReplica(master, replica, key);
    await waitFor('every node to say cluster_state:ok', allOk, { timeoutMs: 20_000, intervalMs: 100 });
  });
});

describe('node-ready.sh (readiness of a node)', () => {
  /** Its exit code for the node on `port`: 0 ready. */
  const ready = async (port: number) =>
    run('sh', [join(SCRIPTS, 'node-ready.sh')], { env: { ...process.env, REDIS_PORT: String(port) } })
      .then(() => 0)
      .catch((error: { code?: number }) => error.code ?? -1);

  it('is ready for a master and a replica in sync, not for a replica whose master is gone until it is whole', async () => {
    await waitFor('every node to say cluster_state:ok', allOk, { timeoutMs: 20_000, intervalMs: 100 });
    const roles = await Promise.all(nodes.map(async (node) => ({ node, ...(await role(node.port)) })));
    const master = roles.find((r) => r.role === 'master')?.node;
    const replica = roles.find((r) => r.role === 'slave' && r.masterPort === master?.port)?.node;
    if (!master || !replica) throw new Error(`no master with a replica: ${JSON.stringify(roles)}`);
    await waitFor(
      'the replica to be linked',
      async () => (await cli(replica.port, 'info', 'replication')).includes('master_link_status:up'),
      { timeoutMs: 20_000, intervalMs: 100 },
    );
    expect(await ready(master.port)).toBe(0);
    expect(await ready(replica.port)).toBe(0);

    // Its master gone: the replica is not ready until it took the slots over (a master then).
    await kill(master);
    await waitFor(
      'the replica to lose its link',
      async () => (await cli(replica.port, 'info', 'replication')).includes('master_link_status:down'),
      { timeoutMs: 10_000, intervalMs: 20 },
    );
    expect(await ready(replica.port)).toBe(1);
    await waitFor('the replica to take over, and be ready', async () => (await ready(replica.port)) === 0, {
      timeoutMs: 20_000,
      intervalMs: 100,
    });
    expect((await role(replica.port)).role).toBe('master');

    // The old master back (as the new one's replica): ready once it has copied the data.
    start(master);
    await waitFor('the old master back and ready', async () => (await ready(master.port)) === 0, {
      timeoutMs: 30_000,
      intervalMs: 100,
    });
    expect((await role(master.port)).role).toBe('slave');
    await waitFor('every node to say cluster_state:ok', allOk, { timeoutMs: 20_000, intervalMs: 100 });
  });
});

describe('start-node.sh looking the nodes up', () => {
  /*
   * getent and redis-server stand-ins: the pods' DNS names are not this machine's. A name resolves
   * on its third lookup (its pod got an IP meanwhile), another never does (a pod that is not coming).
   */
  const bin = join(dir, 'bin');
  const conf = join(dir, 'lookups.conf');
  const id = (c: string) => c.repeat(40);
  const GETENT = `#!/bin/sh
case $2 in
  self.redis-cluster) echo "10.0.0.10       $2" ;;
  late.redis-cluster)
    calls=$(( $(cat "${dir}/late-calls" 2>/dev/null || echo 0) + 1 ))
    echo "$calls" >"${dir}/late-calls"
    [ "$calls" -ge 3 ] || exit 2
    echo "10.0.0.11       $2" ;;
  *) exit 2 ;;
esac
`;

  it('retries a name that does not resolve yet, and keeps the old address of one that never does', async () => {
    mkdirSync(bin, { recursive: true });
    writeFileSync(join(bin, 'getent'), GETENT);
    writeFileSync(join(bin, 'redis-server'), '#!/bin/sh\nexit 0\n');
    for (const file of ['getent', 'redis-server']) chmodSync(join(bin, file), 0o755);
    writeFileSync(
      conf,
      [
        `${id('a')} 192.0.2.10:6379@16379,self.redis-cluster myself,slave ${id('b')} 0 0 1 connected`,
        `${id('b')} 192.0.2.11:6379@16379,late.redis-cluster master - 0 0 1 connected 0-16383`,
        `${id('c')} 192.0.2.12:6379@16379,gone.redis-cluster slave ${id('b')} 0 0 1 connected`,
        'vars currentEpoch 1 lastVoteEpoch 0',
        '',
      ].join('\n'),
    );
    const { stderr } = await run('sh', [join(SCRIPTS, 'start-node.sh')], {
      env: { ...process.env, PATH: `${bin}:${process.env.PATH}`, REDIS_NODES_CONF: conf, REDIS_RESOLVE_SECONDS: '4' },
    });
    expect(readFileSync(conf, 'utf8').split('\n')).toEqual([
      `${id('a')} 10.0.0.10:6379@16379,self.redis-cluster myself,slave ${id('b')} 0 0 1 connected`,
      `${id('b')} 10.0.0.11:6379@16379,late.redis-cluster master - 0 0 1 connected 0-16383`,
      `${id('c')} 192.0.2.12:6379@16379,gone.redis-cluster slave ${id('b')} 0 0 1 connected`,
      'vars currentEpoch 1 lastVoteEpoch 0',
      '',
    ]);
    expect(readFileSync(join(dir, 'late-calls'), 'utf8').trim()).toBe('3');
    expect(stderr).toContain('gone.redis-cluster does not resolve; its old address is kept');
  });
});
