import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

const HOP_BY_HOP = new Set(['host', 'connection', 'keep-alive', 'content-length', 'transfer-encoding']);

/**
 * A dispatcher as the web sees it, with a fault switch: it forwards every request to the real
 * dispatcher behind it, or — while `down` — answers each with 503 itself, as a dispatcher tier
 * that cannot accept does. It keeps the Idempotency-Key of every publish it forwarded.
 */
export class FaultProxy {
  down = false;
  /** Idempotency-Key headers of the publishes that reached the real dispatcher, in order. */
  readonly published: Array<string | undefined> = [];

  private constructor(
    private readonly server: Server,
    readonly url: string,
  ) {}

  static async start(target: string): Promise<FaultProxy> {
    let proxy: FaultProxy | undefined;
    const server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        if (!proxy || proxy.down) {
          res.writeHead(503, { 'content-type': 'application/json', 'retry-after': '1' });
          res.end(JSON.stringify({ error: { code: 'UNAVAILABLE', message: 'fault injected' } }));
          return;
        }
        if (req.url === '/publish') proxy.published.push(req.headers['idempotency-key'] as string | undefined);
        const headers = Object.fromEntries(
          Object.entries(req.headers).filter(
            (entry): entry is [string, string] => typeof entry[1] === 'string' && !HOP_BY_HOP.has(entry[0]),
          ),
        );
        fetch(`${target}${req.url ?? '/'}`, {
          method: req.method ?? 'GET',
          headers,
          ...(chunks.length > 0 ? { body: Buffer.concat(chunks) } : {}),
        }).then(
          async (upstream) => {
            res.writeHead(upstream.status, { 'content-type': upstream.headers.get('content-type') ?? 'text/plain' });
            res.end(Buffer.from(await upstream.arrayBuffer()));
          },
          () => res.writeHead(502).end(),
        );
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    proxy = new FaultProxy(server, `http://127.0.0.1:${(server.address() as AddressInfo).port}`);
    return proxy;
  }

  /** How many forwarded publishes carried this key. */
  publishesWith(key: string): number {
    return this.published.filter((k) => k === key).length;
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}
