import { describe, expect, it } from 'vitest';
import { encodeComment, encodeFrame, SseParser } from '../src/sse.js';

describe('SSE framing', () => {
  it('encodes a frame with and without id', () => {
    expect(encodeFrame('like', '{"count":1}', 'abc')).toBe('id: abc\nevent: like\ndata: {"count":1}\n\n');
    expect(encodeFrame('heartbeat', '{}')).toBe('event: heartbeat\ndata: {}\n\n');
  });

  it('parses frames split at any byte boundary, with CRLF and comments', () => {
    const text = `${encodeFrame('a', '1', 'x')}${encodeComment('ping')}id: y\r\nevent: b\r\ndata: 2\r\n\r\n`;
    for (let cut = 0; cut <= text.length; cut++) {
      const parser = new SseParser();
      const frames = [...parser.push(text.slice(0, cut)), ...parser.push(text.slice(cut))];
      expect(frames).toEqual([
        { id: 'x', event: 'a', data: '1' },
        { id: 'y', event: 'b', data: '2' },
      ]);
    }
  });

  it('joins multi-line data and defaults the event name to message', () => {
    const frames = new SseParser().push('data: one\ndata: two\n\n');
    expect(frames).toEqual([{ event: 'message', data: 'one\ntwo' }]);
  });
});
