import { request } from 'node:http';
import { connect } from 'node:net';
import { newHistogram, record } from './histogram.js';

/*
 * A load-generator worker process: opens SSE viewers and measures what each receives.
 *
 * Cheap on purpose, so it is not the bottleneck: raw sockets instead of Node's HTTP client, bytes
 * decoded as latin1 (no UTF-8 work),
 * frames are located with indexOf, and only the numbers that are measured are read — `seq` and
 * `sentAt` of a comment, `count` of a like — without JSON.parse. Per-viewer state lives in typed
 * arrays. A sample of connections reports its latencies to the realtime tier's collection
 * endpoint, as a browser would, so the server-side figure can be checked against this one.
 *
 * Parent → worker messages: start, snapshot, final. Worker → parent: ready, snapshot, final.
 */

export interface StartMessage {
  type: 'start';
  /** Connect URLs; viewer i uses urls[i % urls.length]. */
  urls: string[];
  count: number;
  /**
   * Source addresses; viewer i binds localAddresses[i % length]. Several per process: the kernel's
   * search for a free port of a bound address slows down as the address's ~28K ports fill (one
   * address: ~770 connects/s past 15,000 sockets; eight: ~15,000/s).
   */
  localAddresses?: string[];
  /** 1 in `reportEvery` viewers POSTs latency samples to `<node>/latency` (0 = none). */
  reportEvery: number;
  /** After `connected`, read and throw away (for scenarios that measure the server side only). */
  discard?: boolean;
}
export type ParentMessage = StartMessage | { type: 'snapshot' } | { type: 'final'; comments: number; likes: number };

export interface Snapshot {
  type: 'snapshot';
  open: number;
  comments: number;
  likes: number;
  heartbeats: number;
  minComments: number;
  minLikes: number;
}

export interface FinalReport {
  type: 'final';
  lostComments: number;
  duplicatedComments: number;
  outOfOrder: number;
  likeMismatches: number;
  likeSurplus: number;
  latency: number[];
}

let state: {
  comments: Int32Array;
  lastSeq: Int32Array;
  duplicated: Int32Array;
  outOfOrder: Int32Array;
  likes: Float64Array;
  open: Uint8Array;
  heartbeats: number;
};
const latency = newHistogram();

function readNumber(text: string, from: number): number {
  let end = from;
  while (end < text.length) {
    const c = text.charCodeAt(end);
    if ((c < 48 || c > 57) && c !== 46 && c !== 45) break;
    end++;
  }
  return Number(text.slice(from, end));
}

function numberAfter(text: string, key: string, from: number, limit: number): number | undefined {
  const at = text.indexOf(key, from);
  if (at === -1 || at > limit) return undefined;
  return readNumber(text, at + key.length);
}

/**
 * One viewer over a raw TCP socket: the request is written by hand and the response read as
 * bytes, skipping Node's HTTP client (its parser and stream per message cost more than the
 * measurement itself). Chunked-encoding framing lines sit between whole SSE frames (the server
 * writes whole frames per chunk), where the frame scanner below steps over them.
 */
function open(url: string, index: number, message: StartMessage): Promise<void> {
  return new Promise((resolve) => {
    const target = new URL(url);
    const localAddress = message.localAddresses?.[index % message.localAddresses.length];
    let rest = '';
    let headersDone = false;
    let connectionId = '';
    const samples: number[] = [];
    const reports = message.reportEvery > 0 && index % message.reportEvery === 0;
    let reportTimer: NodeJS.Timeout | undefined;
    const socket = connect({
      host: target.hostname,
      port: Number(target.port),
      ...(localAddress ? { localAddress } : {}),
    });
    socket.setNoDelay(true);
    socket.on('connect', () => {
      socket.write(
        `GET ${target.pathname}${target.search} HTTP/1.1\r\nHost: ${target.host}\r\nAccept: text/event-stream\r\n\r\n`,
      );
    });
    socket.on('data', (buffer: Buffer) => {
      if (message.discard && state.open[index] === 1) return;
      let text = rest + buffer.toString('latin1');
      let pos = 0;
      if (!headersDone) {
        const end = text.indexOf('\r\n\r\n');
        if (end === -1) {
          rest = text;
          return;
        }
        if (!text.startsWith('HTTP/1.1 200')) {
          socket.destroy();
          return resolve();
        }
        headersDone = true;
        pos = end + 4;
      }
      for (;;) {
        const end = text.indexOf('\n\n', pos);
        if (end === -1) break;
        const e = text.indexOf('event: ', pos);
        if (e !== -1 && e < end) {
          const c = text.charCodeAt(e + 7);
          const c2 = text.charCodeAt(e + 9);
          if (c === 99 && c2 === 109) {
            // "comment"
            const seq = numberAfter(text, '"seq":', e, end);
            const sentAt = numberAfter(text, '"sentAt":', e, end);
            if (seq !== undefined) {
              const last = state.lastSeq[index] ?? -1;
              if (seq <= last) state.duplicated[index] = (state.duplicated[index] ?? 0) + 1;
              else {
                if (seq !== last + 1 && last !== -1) state.outOfOrder[index] = (state.outOfOrder[index] ?? 0) + 1;
                state.lastSeq[index] = seq;
                state.comments[index] = (state.comments[index] ?? 0) + 1;
              }
            }
            if (sentAt !== undefined) {
              const ms = Date.now() - sentAt;
              record(latency, ms);
              if (reports && samples.length < 100) samples.push(Math.max(0, Math.round(ms)));
            }
          } else if (c === 108) {
            // "like"
            const count = numberAfter(text, '"count":', e, end);
            if (count !== undefined) state.likes[index] = (state.likes[index] ?? 0) + count;
          } else if (c === 104) {
            state.heartbeats++;
          } else if (c === 99 && c2 === 110) {
            // "connected"
            const at = text.indexOf('"connectionId":"', e);
            if (at !== -1 && at < end) connectionId = text.slice(at + 16, text.indexOf('"', at + 16));
            state.open[index] = 1;
            resolve();
          }
        }
        pos = end + 2;
      }
      rest = pos < text.length ? text.slice(pos) : '';
      text = '';
    });
    socket.on('close', () => {
      state.open[index] = 0;
      clearInterval(reportTimer);
      resolve();
    });
    socket.on('error', () => resolve());
    if (reports) {
      // Like a browser: a small batch of receive latencies every 2 s to the node it is on.
      reportTimer = setInterval(() => {
        if (!connectionId || samples.length === 0) return;
        const topic = (target.searchParams.get('topics') ?? '').split(',')[0];
        const body = JSON.stringify({ connectionId, topic, samples: samples.splice(0) });
        const post = request(`${target.origin}/latency`, {
          method: 'POST',
          agent: false,
          headers: { 'content-type': 'application/json' },
          ...(localAddress ? { localAddress } : {}),
        });
        post.on('response', (r) => r.resume());
        post.on('error', () => {});
        post.end(body);
      }, 2000);
      reportTimer.unref();
    }
  });
}

process.on('message', async (message: ParentMessage) => {
  if (message.type === 'start') {
    const n = message.count;
    state = {
      comments: new Int32Array(n),
      lastSeq: new Int32Array(n).fill(-1),
      duplicated: new Int32Array(n),
      outOfOrder: new Int32Array(n),
      likes: new Float64Array(n),
      open: new Uint8Array(n),
      heartbeats: 0,
    };
    const parallel = 200;
    for (let i = 0; i < n; i += parallel) {
      const batch = [];
      for (let j = i; j < Math.min(n, i + parallel); j++)
        batch.push(open(message.urls[j % message.urls.length] as string, j, message));
      await Promise.all(batch);
    }
    process.send?.({ ...snapshot(), type: 'ready' });
  } else if (message.type === 'snapshot') {
    process.send?.(snapshot());
  } else {
    const report: FinalReport = {
      type: 'final',
      lostComments: 0,
      duplicatedComments: 0,
      outOfOrder: 0,
      likeMismatches: 0,
      likeSurplus: 0,
      latency: Array.from(latency),
    };
    for (let i = 0; i < state.comments.length; i++) {
      report.lostComments += Math.max(0, message.comments - (state.comments[i] ?? 0));
      report.duplicatedComments += state.duplicated[i] ?? 0;
      report.outOfOrder += state.outOfOrder[i] ?? 0;
      const likes = state.likes[i] ?? 0;
      if (likes !== message.likes) report.likeMismatches++;
      report.likeSurplus += likes - message.likes;
    }
    process.send?.(report);
  }
});

function snapshot(): Snapshot {
  let open = 0;
  let comments = 0;
  let likes = 0;
  let minComments = Number.POSITIVE_INFINITY;
  let minLikes = Number.POSITIVE_INFINITY;
  for (let i = 0; i < state.comments.length; i++) {
    open += state.open[i] ?? 0;
    const c = state.comments[i] ?? 0;
    const l = state.likes[i] ?? 0;
    comments += c;
    likes += l;
    if (c < minComments) minComments = c;
    if (l < minLikes) minLikes = l;
  }
  return { type: 'snapshot', open, comments, likes, heartbeats: state.heartbeats, minComments, minLikes };
}
