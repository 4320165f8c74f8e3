import { randomBytes } from 'node:crypto';
import { ProtocolError } from './chunk-reader.js';

/*
 * The RTMP handshake, server side, the simple form (no digest):
 *
 *   client                         server
 *   C0 (version 3) + C1 (1536) ──▶
 *                              ◀── S0 (3) + S1 (1536: time, zeros, random) + S2 (C1 echoed)
 *   C2 (1536, S1 echoed)       ──▶
 *   chunks ...
 *
 * ffmpeg's and OBS's (librtmp's) publishing clients accept it: S1's version bytes are zero, so
 * neither looks for a digest, and they only warn when C2 is not our S1. So C2 is read and not
 * compared. At most C0 + C1 + C2 bytes are held.
 */

export const HANDSHAKE_SIZE = 1536;
const RTMP_VERSION = 3;

export class Handshake {
  private received: Buffer = Buffer.alloc(0);
  private state: 'c0c1' | 'c2' | 'done' = 'c0c1';

  get done(): boolean {
    return this.state === 'done';
  }

  /**
   * Takes bytes of the handshake. Returns what to send (S0+S1+S2, once) and, when it is over, the
   * bytes that came after C2 (the first chunks). Throws ProtocolError on a wrong version.
   */
  push(data: Buffer): { reply?: Buffer; rest?: Buffer } {
    if (this.state === 'done') return { rest: data };
    this.received = this.received.length > 0 ? Buffer.concat([this.received, data]) : data;
    const result: { reply?: Buffer; rest?: Buffer } = {};
    if (this.state === 'c0c1') {
      if (this.received.length >= 1 && this.received[0] !== RTMP_VERSION) {
        throw new ProtocolError(`RTMP version ${this.received[0]} (only 3, plain RTMP, is spoken here)`);
      }
      if (this.received.length < 1 + HANDSHAKE_SIZE) return result;
      const c1 = this.received.subarray(1, 1 + HANDSHAKE_SIZE);
      result.reply = Buffer.concat([Buffer.of(RTMP_VERSION), serverS1(), c1]);
      this.received = this.received.subarray(1 + HANDSHAKE_SIZE);
      this.state = 'c2';
    }
    if (this.received.length < HANDSHAKE_SIZE) {
      // Keep a copy: the rest of a socket read is not kept alive for these bytes.
      this.received = Buffer.from(this.received);
      return result;
    }
    result.rest = this.received.subarray(HANDSHAKE_SIZE);
    this.received = Buffer.alloc(0);
    this.state = 'done';
    return result;
  }
}

/** S1: our time (0 will do), four zero bytes (no version: no digest), random bytes. */
function serverS1(): Buffer {
  const s1 = Buffer.alloc(HANDSHAKE_SIZE);
  randomBytes(HANDSHAKE_SIZE - 8).copy(s1, 8);
  return s1;
}
