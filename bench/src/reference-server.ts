import { createServer, type ServerResponse } from 'node:http';

/*
 * The bare node:http reference the issue measures Ovation against: one process, SSE connections
 * in a Set, and each published event encoded once and written to every subscriber with its own
 * write — what a straightforward server does. Same URLs and frame format as Ovation, so the same
 * viewers and publisher drive both.
 *
 *   GET  /connect           SSE; `connected` frame first
 *   POST /publish           {events:[{topic,type,data}]} → 202
 *   GET  /healthz
 */

const subscribers = new Set<ServerResponse>();
let seq = 0;

const server = createServer((req, res) => {
  if (req.method === 'GET' && req.url?.startsWith('/connect')) {
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
    res.write(`event: connected\ndata: {"connectionId":"ref${++seq}","nodeId":"reference","region":"local"}\n\n`);
    subscribers.add(res);
    res.on('close', () => subscribers.delete(res));
    return;
  }
  if (req.method === 'POST' && req.url === '/publish') {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const { events } = JSON.parse(Buffer.concat(chunks).toString()) as {
        events: Array<{ topic: string; type: string; data: unknown }>;
      };
      const ts = Date.now();
      for (const event of events) {
        const id = `r${++seq}`;
        const frame = Buffer.from(
          `id: ${id}\nevent: ${event.type}\ndata: ${JSON.stringify({ id, topic: event.topic, type: event.type, data: event.data, ts })}\n\n`,
        );
        for (const subscriber of subscribers) subscriber.write(frame);
      }
      res.writeHead(202, { 'content-type': 'application/json' });
      res.end('{}');
    });
    return;
  }
  if (req.url === '/healthz') {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end('{"status":"ok"}');
    return;
  }
  res.writeHead(404);
  res.end();
});

server.listen(Number(process.env.PORT ?? 0), '127.0.0.1', 4096);
