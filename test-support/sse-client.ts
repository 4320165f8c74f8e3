import { request } from 'node:http';
import { type SseFrame, SseParser } from '@ovation/shared';
import { waitFor } from './poll.js';

/** An SSE viewer for tests: opens GET /connect and records every frame it receives. */
export class TestViewer {
  readonly frames: SseFrame[] = [];
  /** When each frame arrived (ms since the epoch), aligned with `frames`. */
  readonly receivedAt: number[] = [];
  status = 0;
  headers: Record<string, string | string[] | undefined> = {};
  closed = false;
  private destroy: () => void = () => {};

  private constructor() {}

  static open(url: string, headers: Record<string, string> = {}): TestViewer {
    const viewer = new TestViewer();
    const parser = new SseParser();
    const req = request(url, { headers: { accept: 'text/event-stream', ...headers }, agent: false }, (res) => {
      viewer.status = res.statusCode ?? 0;
      viewer.headers = res.headers;
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        const frames = parser.push(chunk);
        const now = Date.now();
        for (const frame of frames) {
          viewer.frames.push(frame);
          viewer.receivedAt.push(now);
        }
      });
      res.on('close', () => {
        viewer.closed = true;
      });
    });
    req.on('error', () => {
      viewer.closed = true;
    });
    req.end();
    viewer.destroy = () => req.destroy();
    return viewer;
  }

  /** Opens and waits for the `connected` frame; returns the viewer and its connection id. */
  static async connect(url: string, headers: Record<string, string> = {}, timeoutMs = 10_000): Promise<TestViewer> {
    const viewer = TestViewer.open(url, headers);
    try {
      await waitFor(
        `connected frame from ${url}`,
        () => {
          if (viewer.closed && !viewer.frames.some((f) => f.event === 'connected'))
            throw new Error(`stream closed with status ${viewer.status} before it was connected`);
          return viewer.frames.some((f) => f.event === 'connected');
        },
        { timeoutMs },
      );
    } catch (error) {
      viewer.close();
      throw error;
    }
    return viewer;
  }

  get connectionId(): string {
    const frame = this.frames.find((f) => f.event === 'connected');
    if (!frame) throw new Error('not connected yet');
    return (JSON.parse(frame.data) as { connectionId: string }).connectionId;
  }

  /** Frames of one event type, with their envelope's `data` parsed. */
  events(type: string): Array<{
    id: string | undefined;
    topic: string;
    data: Record<string, unknown>;
    ts: number;
    originId: string | undefined;
    receivedAt: number;
  }> {
    return this.frames.flatMap((f, i) => {
      if (f.event !== type) return [];
      const envelope = JSON.parse(f.data) as {
        topic: string;
        data: Record<string, unknown>;
        ts: number;
        originId?: string;
      };
      return [
        {
          id: f.id,
          topic: envelope.topic,
          data: envelope.data,
          ts: envelope.ts,
          originId: envelope.originId,
          receivedAt: this.receivedAt[i] ?? 0,
        },
      ];
    });
  }

  close(): void {
    this.destroy();
  }
}
