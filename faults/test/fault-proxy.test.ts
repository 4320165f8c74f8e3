import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { Agent, createServer as createHttpServer, request } from 'node:http';
import { type AddressInfo, connect, createServer, type Server, type Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import { afterEach, describe, expect, it } from 'vitest';
import { waitFor } from '../../test-support/poll.js';
import { type FaultEvent, FaultProxy, type FaultProxyOptions, type Upstream } from '../src/fault-proxy.js';

let cleanup: Array<() => unknown> = [];
afterEach(async () => {
  for (const c of cleanup.reverse()) await c();
  cleanup = [];
});

/** What one side of a connection saw, with the time each chunk arrived. */
class Seen {
  readonly chunks: Array<{ at: number; bytes: Buffer }> = [];
  ended = false;
  closed = false;
  error: string | undefined;

  constructor(socket: Socket) {
    socket.on('data', (bytes: Buffer) => this.chunks.push({ at: performance.now(), bytes }));
    socket.on('end', () => {
      this.ended = true;
    });
    socket.on('close', () => {
      this.closed = true;
    });
    socket.on('error', (error: NodeJS.ErrnoException) => {
      this.error = error.code;
    });
  }

  get bytes(): Buffer {
    return Buffer.concat(this.chunks.map((c) => c.bytes));
  }

  get text(): string {
    return this.bytes.toString();
  }

  get length(): number {
    return this.chunks.reduce((n, c) => n + c.bytes.length, 0);
  }

  /** Time the first chunk arrived (undefined until one did). */
  get firstAt(): number | undefined {
    return this.chunks[0]?.at;
  }
}

interface UpstreamConnection {
  socket: Socket;
  seen: Seen;
}

/** A TCP server on a free port that records its connections and, unless told not to, echoes what it reads. */
async function startUpstream(name: string, { echo = true } = {}) {
  const connections: UpstreamConnection[] = [];
  const server = createServer({ noDelay: true }, (socket) => {
    const connection = { socket, seen: new Seen(socket) };
    connections.push(connection);
    arrivals.push(name);
    if (echo) socket.on('data', (chunk) => socket.write(chunk));
  });
  await listen(server);
  const port = (server.address() as AddressInfo).port;
  const stop = async () => {
    for (const c of connections) c.socket.destroy();
    await new Promise((resolve) => server.close(resolve));
  };
  cleanup.push(() => (server.listening ? stop() : undefined));
  return {
    name,
    target: { host: '127.0.0.1', port } satisfies Upstream,
    connections,
    open: () => connections.filter((c) => !c.seen.closed).length,
    stop,
  };
}

/** Names of the upstreams in the order connections reached them. */
let arrivals: string[] = [];
afterEach(() => {
  arrivals = [];
});

async function listen(server: Server): Promise<void> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
}

/**
 * A listener whose process is stopped, with its accept queue full: the kernel drops further SYNs, so a connect
 * neither succeeds nor fails (Linux, net.ipv4.tcp_abort_on_overflow = 0, the default).
 */
async function startHungUpstream(): Promise<Upstream> {
  const script =
    "const s = require('node:net').createServer().listen({ port: 0, host: '127.0.0.1', backlog: 1 }, () => " +
    'console.log(s.address().port));';
  const child = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  cleanup.push(() => child.kill('SIGKILL'));
  const port = Number(await new Promise<Buffer>((resolve) => child.stdout.once('data', resolve)));
  child.kill('SIGSTOP');
  for (let i = 0; i < 2; i++) {
    const filler = await dial(port);
    expect(filler.seen.closed).toBe(false);
  }
  return { host: '127.0.0.1', port };
}

async function startProxy(options: Omit<FaultProxyOptions, 'name'>): Promise<FaultProxy> {
  const proxy = await FaultProxy.start({ name: 'test', ...options });
  cleanup.push(() => proxy.close());
  return proxy;
}

/** A client connection; resolves once it is connected or has failed. */
async function dial(port: number) {
  const socket = connect({ host: '127.0.0.1', port, noDelay: true });
  const seen = new Seen(socket);
  cleanup.push(() => socket.destroy());
  await new Promise((resolve) => {
    socket.once('connect', resolve);
    socket.once('close', resolve);
  });
  return { socket, seen };
}

/** Writes `text` and waits for it to come back from an echoing upstream; returns the round trip in ms. */
async function roundTrip(client: { socket: Socket; seen: Seen }, text: string): Promise<number> {
  const expected = client.seen.length + Buffer.byteLength(text);
  const start = performance.now();
  client.socket.write(text);
  await waitFor(`echo of ${JSON.stringify(text)}`, () => client.seen.length >= expected, { intervalMs: 1 });
  return (client.seen.chunks.at(-1)?.at ?? Number.NaN) - start;
}

const tick = () => new Promise((resolve) => setImmediate(resolve));

describe('FaultProxy forwarding', () => {
  it('carries a large payload both ways intact and in order', async () => {
    const upstream = await startUpstream('a');
    const proxy = await startProxy({ targets: [upstream.target] });
    const client = await dial(proxy.port);
    const payload = randomBytes(8 * 1024 * 1024);

    client.socket.write(payload);
    await waitFor('the whole echo', () => client.seen.length >= payload.length);

    expect(client.seen.bytes.equals(payload)).toBe(true);
    expect(proxy.url).toBe(`http://127.0.0.1:${proxy.port}`);
    expect(proxy.stats()).toMatchObject({ accepted: 1, active: 1, bytesToUpstream: payload.length });
    expect(proxy.stats().bytesToClient).toBe(payload.length);
  });

  it('carries HTTP/1.1 keep-alive requests and a large response on one upstream connection', async () => {
    const big = randomBytes(4 * 1024 * 1024);
    const server = createHttpServer((req, res) => {
      if (req.url === '/big') return res.end(big);
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => res.end(Buffer.concat(chunks)));
    });
    let upstreamConnections = 0;
    server.on('connection', () => upstreamConnections++);
    await listen(server);
    cleanup.push(() => new Promise((resolve) => server.close(resolve)));
    cleanup.push(() => server.closeAllConnections());
    const proxy = await startProxy({ targets: [{ host: '127.0.0.1', port: (server.address() as AddressInfo).port }] });
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    cleanup.push(() => agent.destroy());

    for (let i = 0; i < 50; i++) {
      expect((await httpRequest(agent, `${proxy.url}/echo`, `request ${i}`)).toString()).toBe(`request ${i}`);
    }
    expect((await httpRequest(agent, `${proxy.url}/big`)).equals(big)).toBe(true);
    expect(upstreamConnections).toBe(1);
  });

  it('adds well under a millisecond to a small HTTP request when no fault is active', async () => {
    const server = createHttpServer((_req, res) => res.end('ok'));
    await listen(server);
    cleanup.push(() => new Promise((resolve) => server.close(resolve)));
    cleanup.push(() => server.closeAllConnections());
    const direct = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const proxy = await startProxy({ targets: [{ host: '127.0.0.1', port: (server.address() as AddressInfo).port }] });
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    cleanup.push(() => agent.destroy());
    const timed = async (url: string) => {
      const start = performance.now();
      await httpRequest(agent, url);
      return performance.now() - start;
    };
    // Alternate the two paths so that both see the same machine load; medians ignore GC and scheduler pauses.
    const directTimes: number[] = [];
    const proxiedTimes: number[] = [];
    for (let i = 0; i < 50; i++) await Promise.all([timed(direct), timed(proxy.url)]); // warm up
    for (let i = 0; i < 500; i++) {
      directTimes.push(await timed(direct));
      proxiedTimes.push(await timed(proxy.url));
    }
    const directMs = median(directTimes);
    const proxiedMs = median(proxiedTimes);

    expect(proxiedMs - directMs).toBeLessThan(1);
  });
});

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[sorted.length >> 1] ?? Number.NaN;
}

function httpRequest(agent: Agent, url: string, body?: string): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const req = request(url, { agent, method: body === undefined ? 'GET' : 'POST' }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve(Buffer.concat(chunks)));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

describe('FaultProxy latency', () => {
  it('delays each direction, so a round trip takes at least twice the latency; latency(0) removes it', async () => {
    const upstream = await startUpstream('a');
    const proxy = await startProxy({ targets: [upstream.target] });
    const client = await dial(proxy.port);
    await roundTrip(client, 'warm');

    proxy.latency(60);
    const slow = await roundTrip(client, 'slow');
    proxy.latency(0);
    const fast = await roundTrip(client, 'fast');

    expect(slow).toBeGreaterThanOrEqual(120);
    expect(slow).toBeLessThan(120 + 300);
    expect(fast).toBeLessThan(30);
    expect(client.seen.text).toBe('warmslowfast');
    expect(proxy.stats().faults.latency).toBe(1);
  });

  it('keeps byte order when a later chunk draws less jitter than an earlier one', async () => {
    const upstream = await startUpstream('a');
    // Every other chunk draws the full jitter and the next one none: timers per chunk would swap each pair.
    let draws = 0;
    const proxy = await startProxy({ targets: [upstream.target], random: () => (draws++ % 2 === 0 ? 0.999 : 0) });
    const client = await dial(proxy.port);
    proxy.latency(1, 40);

    let sent = '';
    for (let i = 0; i < 100; i++) {
      sent += `${i},`;
      client.socket.write(`${i},`);
      await new Promise((resolve) => setTimeout(resolve, 1));
    }
    await waitFor('the whole echo', () => client.seen.length >= sent.length);

    expect(upstream.connections[0]?.seen.text).toBe(sent);
    expect(client.seen.text).toBe(sent);
    expect(draws).toBeGreaterThan(20); // the writes reached the proxy as separate chunks
  });
});

describe('FaultProxy stall', () => {
  it('holds every byte both ways, and on new connections, until the stall ends, then delivers in order', async () => {
    const upstream = await startUpstream('a');
    const proxy = await startProxy({ targets: [upstream.target] });
    const events: FaultEvent[] = [];
    proxy.on('fault', (e) => events.push(e));
    const client = await dial(proxy.port);
    await roundTrip(client, 'before;');
    const upstreamSide = upstream.connections[0] as UpstreamConnection;

    const stalledAt = performance.now();
    proxy.stall(300);
    for (const part of ['1;', '2;', '3;']) {
      client.socket.write(part);
      await tick();
    }
    upstreamSide.socket.write('pushed;');
    const late = await dial(proxy.port);
    late.socket.write('late;');
    await waitFor('the late connection to reach the upstream', () => upstream.connections[1]?.seen.length);
    await waitFor('the echoes', () => client.seen.text.length >= 'before;pushed;1;2;3;'.length);

    const afterStall = (at: number | undefined) => (at ?? 0) - stalledAt;
    const firstAfter = (seen: Seen, skip: number) => seen.chunks.find((_, i) => i >= skip)?.at;
    expect(afterStall(firstAfter(upstreamSide.seen, 1))).toBeGreaterThanOrEqual(300);
    expect(afterStall(firstAfter(client.seen, 1))).toBeGreaterThanOrEqual(300);
    expect(afterStall(upstream.connections[1]?.seen.firstAt)).toBeGreaterThanOrEqual(300);
    expect(afterStall(firstAfter(upstreamSide.seen, 1))).toBeLessThan(300 + 300);
    expect(upstreamSide.seen.text).toBe('before;1;2;3;');
    expect(client.seen.text).toBe('before;pushed;1;2;3;');
    expect(events).toEqual([
      { proxy: 'test', kind: 'stall', phase: 'start', ms: 300 },
      { proxy: 'test', kind: 'stall', phase: 'end' },
    ]);
  });

  it('resets a connection that buffers more than the bound during a stall, and counts it', async () => {
    const upstream = await startUpstream('a', { echo: false });
    const proxy = await startProxy({ targets: [upstream.target], maxBufferedBytes: 64 * 1024 });
    const client = await dial(proxy.port);
    await waitFor('the upstream connection', () => upstream.connections.length === 1);

    proxy.stall(60_000);
    client.socket.write(randomBytes(1024 * 1024));
    await waitFor('the client to be cut', () => client.seen.closed);
    await waitFor('the upstream to be cut', () => upstream.open() === 0);

    expect(upstream.connections[0]?.seen.length).toBe(0);
    expect(proxy.stats()).toMatchObject({ overflows: 1, active: 0 });
    expect(proxy.stats().droppedBytes).toBeGreaterThan(64 * 1024);
  });
});

describe('FaultProxy heal', () => {
  it('ends latency, stall and blackhole at once, without reviving a black-holed connection', async () => {
    const upstream = await startUpstream('a');
    const proxy = await startProxy({ targets: [upstream.target] });
    const client = await dial(proxy.port);
    await roundTrip(client, 'ping;');
    proxy.stall(60_000);
    proxy.latency(60_000);
    client.socket.write('held;');
    await tick();

    proxy.heal();
    await waitFor('the held bytes', () => client.seen.text === 'ping;held;', { timeoutMs: 2_000 });
    proxy.blackhole(60_000);
    proxy.heal();
    const fresh = await dial(proxy.port);

    expect(await roundTrip(fresh, 'fresh')).toBeLessThan(1_000);
    client.socket.write('lost;');
    await roundTrip(fresh, 'again');
    expect(upstream.connections[0]?.seen.text).toBe('ping;held;');
  });
});

describe('FaultProxy half-close', () => {
  it('passes a FIN on after the data queued ahead of it, and forgets the connection once both sides closed', async () => {
    const upstream = await startUpstream('a');
    const proxy = await startProxy({ targets: [upstream.target] });
    const client = await dial(proxy.port);
    await roundTrip(client, 'ping;');
    proxy.latency(30);

    client.socket.end('last words');
    await waitFor('the client to close', () => client.seen.closed);

    expect(upstream.connections[0]?.seen).toMatchObject({ ended: true, closed: true, error: undefined });
    expect(upstream.connections[0]?.seen.text).toBe('ping;last words');
    expect(client.seen).toMatchObject({ ended: true, error: undefined });
    expect(client.seen.text).toBe('ping;last words');
    await waitFor('the proxy to forget the connection', () => proxy.stats().active === 0);
  });
});

describe('FaultProxy reset', () => {
  it('tears down both sides of every connection, and a new connection works afterwards', async () => {
    const upstream = await startUpstream('a');
    const proxy = await startProxy({ targets: [upstream.target] });
    const client = await dial(proxy.port);
    await roundTrip(client, 'ping');

    proxy.reset();
    await waitFor('the client to see the reset', () => client.seen.closed);
    await waitFor('the upstream to see the reset', () => upstream.connections[0]?.seen.closed);

    expect(client.seen.error).toBe('ECONNRESET');
    expect(upstream.connections[0]?.seen.error).toBe('ECONNRESET');
    const next = await dial(proxy.port);
    await roundTrip(next, 'again');
    expect(proxy.stats()).toMatchObject({ accepted: 2, active: 1, faults: { reset: 1 } });
  });
});

describe('FaultProxy blackhole', () => {
  it('swallows data silently during the period; those connections stay dead, new ones work after', async () => {
    const upstream = await startUpstream('a');
    const proxy = await startProxy({ targets: [upstream.target] });
    const events: FaultEvent[] = [];
    proxy.on('fault', (e) => events.push(e));
    const old = await dial(proxy.port);
    await roundTrip(old, 'ping;');
    const oldUpstream = upstream.connections[0] as UpstreamConnection;

    proxy.blackhole(300);
    old.socket.write('lost;');
    oldUpstream.socket.write('lost;');
    const during = await dial(proxy.port);
    during.socket.write('lost;');
    await waitFor('the end of the blackhole', () => events.some((e) => e.kind === 'blackhole' && e.phase === 'end'));

    expect(old.seen.text).toBe('ping;');
    expect(oldUpstream.seen.text).toBe('ping;');
    expect(during.seen.length).toBe(0);
    expect(upstream.connections).toHaveLength(1); // its SYN was "dropped": it never reached the upstream
    for (const side of [old.seen, oldUpstream.seen, during.seen]) {
      expect(side).toMatchObject({ ended: false, closed: false, error: undefined });
    }

    old.socket.write('still lost;');
    oldUpstream.socket.write('still lost;');
    const after = await dial(proxy.port);
    await roundTrip(after, 'works;');
    await roundTrip(after, 'still works;');
    expect(old.seen.text).toBe('ping;');
    expect(oldUpstream.seen.text).toBe('ping;');
    expect(old.seen.closed).toBe(false);

    // Each side of a dead connection closes only when its own peer closes it.
    old.socket.end();
    await waitFor('the proxy to close the old client side', () => old.seen.closed);
    await roundTrip(after, 'settle;');
    expect(oldUpstream.seen.closed).toBe(false);
    expect(proxy.stats().active).toBe(3);
    oldUpstream.socket.end();
    during.socket.end();
    await waitFor('the dead connections to be gone', () => proxy.stats().active === 1);

    expect(proxy.stats().droppedBytes).toBe(3 * 'lost;'.length + 2 * 'still lost;'.length);
    expect(proxy.stats().faults.blackhole).toBe(1);
  });
});

describe('FaultProxy load balancing', () => {
  it('sends new connections to the targets in turn', async () => {
    const a = await startUpstream('a');
    const b = await startUpstream('b');
    const proxy = await startProxy({ targets: [a.target, b.target] });

    for (let i = 0; i < 4; i++) await roundTrip(await dial(proxy.port), `hello ${i}`);

    expect(arrivals).toEqual(['a', 'b', 'a', 'b']);
  });

  it('skips a target that refuses, so every connection reaches the live one', async () => {
    const live = await startUpstream('live');
    const down = await startUpstream('down');
    await down.stop();
    const proxy = await startProxy({ targets: [live.target, down.target] });

    for (let i = 0; i < 4; i++) await roundTrip(await dial(proxy.port), `hello ${i}`);

    expect(arrivals).toEqual(['live', 'live', 'live', 'live']);
    expect(proxy.stats().failedConnects).toBeGreaterThanOrEqual(2);
  });

  it('skips a target that does not answer within the connect timeout', async () => {
    const live = await startUpstream('live');
    const hung = await startHungUpstream();
    const proxy = await startProxy({ targets: [hung, live.target], connectTimeoutMs: 100 });

    const start = performance.now();
    const client = await dial(proxy.port);
    await roundTrip(client, 'hello');

    expect(performance.now() - start).toBeGreaterThanOrEqual(100);
    expect(arrivals).toEqual(['live']);
    expect(proxy.stats().failedConnects).toBe(1);
  });

  it('reads the targets again for every connection', async () => {
    const before = await startUpstream('before');
    const after = await startUpstream('after');
    let targets = [before.target];
    const proxy = await startProxy({ targets: () => targets });

    const first = await dial(proxy.port);
    await roundTrip(first, 'one');
    targets = [after.target];
    await roundTrip(await dial(proxy.port), 'two');
    await roundTrip(first, 'three');

    expect(arrivals).toEqual(['before', 'after']);
    expect(before.connections[0]?.seen.text).toBe('onethree');
  });

  it('resets the client when no target accepts', async () => {
    const down = await startUpstream('down');
    await down.stop();
    const proxy = await startProxy({ targets: [down.target] });

    const client = await dial(proxy.port);
    await waitFor('the client to be reset', () => client.seen.closed);

    expect(client.seen.error).toBe('ECONNRESET');
    expect(proxy.stats()).toMatchObject({ unroutable: 1, active: 0 });
  });
});

describe('FaultProxy disable', () => {
  it('cuts current connections and refuses new ones until enabled', async () => {
    const upstream = await startUpstream('a');
    const proxy = await startProxy({ targets: [upstream.target] });
    const client = await dial(proxy.port);
    await roundTrip(client, 'ping');

    proxy.disable();
    await waitFor('the current connection to be cut', () => client.seen.closed && upstream.open() === 0);
    const refused = await dial(proxy.port);
    await waitFor('the new connection to be refused', () => refused.seen.closed);
    proxy.enable();
    await roundTrip(await dial(proxy.port), 'back');

    expect(refused.seen.length).toBe(0);
    expect(upstream.connections).toHaveLength(2);
    expect(proxy.stats()).toMatchObject({ refused: 1, faults: { disable: 1 } });
  });
});

describe('FaultProxy close', () => {
  it('closes the listener and every connection, live, stalled or dead, on both sides', async () => {
    const upstream = await startUpstream('a');
    const proxy = await FaultProxy.start({ name: 'closing', targets: [upstream.target] });
    let blackholeEnded = false;
    proxy.on('fault', (e) => {
      if (e.kind === 'blackhole' && e.phase === 'end') blackholeEnded = true;
    });
    const dead = await dial(proxy.port);
    await roundTrip(dead, 'ping');
    proxy.blackhole(1);
    await waitFor('the blackhole to end', () => blackholeEnded);
    const stalled = await dial(proxy.port);
    await roundTrip(stalled, 'ping');
    const idle = await dial(proxy.port);
    await roundTrip(idle, 'ping');
    proxy.stall(60_000);
    proxy.latency(50);
    stalled.socket.write('held');

    await proxy.close();

    expect(proxy.stats().active).toBe(0);
    await waitFor('the upstream to see every connection close', () => upstream.open() === 0);
    await waitFor('the clients to see their connection close', () => [dead, stalled, idle].every((c) => c.seen.closed));
    const refused = await dial(proxy.port);
    expect(refused.seen.error).toBe('ECONNREFUSED');
  });
});
