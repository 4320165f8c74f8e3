import { request } from 'node:http';

/*
 * A load-generator worker: opens `count` SSE viewers and counts the `comment` frames each receives.
 * Cheap on purpose (the generator must not be the bottleneck): it never decodes text or parses
 * JSON, it only counts "\nevent: comment\n" in the raw bytes (an event frame's `event:` line
 * always follows its `id:` line).
 *
 * Parent → worker: { url, count }; worker → parent: { type: 'ready' | 'counts', counts, failed }.
 */

const MARKER = Buffer.from('\nevent: comment\n');

interface Start {
  url: string;
  count: number;
}

const counts: number[] = [];
let failed = 0;

function open(url: string, index: number): Promise<void> {
  return new Promise((resolve) => {
    counts[index] = 0;
    let tail: Buffer = Buffer.alloc(0);
    const req = request(url, { agent: false, headers: { accept: 'text/event-stream' } }, (res) => {
      if (res.statusCode !== 200) {
        failed++;
        res.resume();
        return resolve();
      }
      let connected = false;
      res.on('data', (chunk: Buffer) => {
        if (!connected) {
          connected = true;
          resolve();
        }
        // Match across chunk boundaries by keeping the last few bytes of the previous chunk.
        const data = tail.length > 0 ? Buffer.concat([tail, chunk]) : chunk;
        let at = data.indexOf(MARKER);
        let found = 0;
        while (at !== -1) {
          found++;
          at = data.indexOf(MARKER, at + MARKER.length);
        }
        counts[index] = (counts[index] ?? 0) + found;
        tail = data.subarray(Math.max(0, data.length - (MARKER.length - 1)));
      });
    });
    req.on('error', () => {
      failed++;
      resolve();
    });
    req.end();
  });
}

process.on('message', async (message: Start) => {
  const batch = 100;
  for (let i = 0; i < message.count; i += batch) {
    await Promise.all(Array.from({ length: Math.min(batch, message.count - i) }, (_, j) => open(message.url, i + j)));
  }
  process.send?.({ type: 'ready', counts, failed });
  setInterval(() => process.send?.({ type: 'counts', counts, failed }), 50);
});
