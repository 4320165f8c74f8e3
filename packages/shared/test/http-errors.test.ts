import { Duplex } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import { describe, expect, it } from 'vitest';
import { answerClientError } from '../src/server/http-errors.js';

/** A socket that records what is written to it. */
function fakeSocket(inFlight?: { headersSent: boolean }) {
  const written: string[] = [];
  const socket = new Duplex({
    read() {},
    write(chunk, _encoding, callback) {
      written.push(String(chunk));
      callback();
    },
  });
  if (inFlight) Object.assign(socket, { _httpMessage: inFlight });
  return { socket, written };
}

const app = { log: { debug() {} } } as unknown as FastifyInstance;
const error = (code: string) => Object.assign(new Error(code), { code });

function parsed(text: string | undefined) {
  const [head = '', body = ''] = (text ?? '').split('\r\n\r\n');
  return {
    statusLine: head.split('\r\n')[0],
    head,
    body: JSON.parse(body) as { error: { code: string; message: string } },
  };
}

describe("Node's client errors in the contract shape", () => {
  it.each([
    ['HPE_HEADER_OVERFLOW', 'HTTP/1.1 431 Request Header Fields Too Large', 'HEADERS_TOO_LARGE'],
    ['ERR_HTTP_REQUEST_TIMEOUT', 'HTTP/1.1 408 Request Timeout', 'REQUEST_TIMEOUT'],
    ['HPE_CHUNK_EXTENSIONS_OVERFLOW', 'HTTP/1.1 413 Payload Too Large', 'PAYLOAD_TOO_LARGE'],
    ['HPE_INVALID_METHOD', 'HTTP/1.1 400 Bad Request', 'BAD_REQUEST'],
    ['SOMETHING_NEW', 'HTTP/1.1 400 Bad Request', 'BAD_REQUEST'],
  ])('%s → %s', (code, statusLine, errorCode) => {
    const { socket, written } = fakeSocket();
    answerClientError.call(app, error(code), socket);
    const response = parsed(written[0]);
    expect(response.statusLine).toBe(statusLine);
    expect(response.head).toMatch(/content-type: application\/json/);
    expect(response.head).toMatch(/connection: close/);
    expect(Number(/content-length: (\d+)/.exec(response.head)?.[1])).toBe(
      Buffer.byteLength(JSON.stringify(response.body)),
    );
    expect(response.body.error.code).toBe(errorCode);
    expect(socket.destroyed).toBe(true);
  });

  it('names the parser error, nothing more', () => {
    const { socket, written } = fakeSocket();
    answerClientError.call(app, error('HPE_INVALID_HEADER_TOKEN'), socket);
    expect(parsed(written[0]).body.error.message).toBe('malformed HTTP request (HPE_INVALID_HEADER_TOKEN)');
  });

  it('writes nothing into a response already under way, or to a reset connection', () => {
    const started = fakeSocket({ headersSent: true });
    answerClientError.call(app, error('HPE_INVALID_CHUNK_SIZE'), started.socket);
    expect(started.written).toEqual([]);
    expect(started.socket.destroyed).toBe(true);

    const pending = fakeSocket({ headersSent: false });
    answerClientError.call(app, error('HPE_INVALID_CHUNK_SIZE'), pending.socket);
    expect(parsed(pending.written[0]).statusLine).toBe('HTTP/1.1 400 Bad Request');

    const reset = fakeSocket();
    answerClientError.call(app, error('ECONNRESET'), reset.socket);
    expect(reset.written).toEqual([]);
  });
});
