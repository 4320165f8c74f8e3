import { request } from 'node:http';
import { type SseFrame, SseParser } from '@ovation/shared';
import { waitFor } from './poll.js';

/** An SSE viewer for tests: opens GET /connect and records every frame it receives. */
export class TestViewer {
  readonly frames: SseFrame[] = [];
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
      res.on('data', (chunk: string) => viewer.frames.push(...parser.push(chunk)));
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
  static async connect(url: string, headers: Record<string, string> = {}): Promise<TestViewer> {
    const viewer = TestViewer.open(url, headers);
    await waitFor(`connected frame from ${url}`, () => {
      if (viewer.closed && viewer.frames.length === 0) throw new Error(`stream closed with status ${viewer.status}`);
      return viewer.frames.some((f) => f.event === 'connected');
    });
    return viewer;
  }

  get connectionId(): string {
    const frame = this.frames.find((f) => f.event === 'connected');
    if (!frame) throw new Error('not connected yet');
    return (JSON.parse(frame.data) as { connectionId: string }).connectionId;
  }

  /** Frames of one event type, with their envelope's `data` parsed. */
  events(type: string): Array<{ id: string | undefined; topic: string; data: Record<string, unknown> }> {
    return this.frames
      .filter((f) => f.event === type)
      .map((f) => {
        const envelope = JSON.parse(f.data) as { topic: string; data: Record<string, unknown> };
        return { id: f.id, topic: envelope.topic, data: envelope.data };
      });
  }

  close(): void {
    this.destroy();
  }
}
