/**
 * Cryptographic random bytes in Node and in browsers (Web Crypto is global in both), drawn from a
 * pool refilled 4 KiB at a time: a publish asks for a few bytes per topic, and one
 * `getRandomValues` call per few hundred of them is much cheaper than one each.
 */
const POOL_BYTES = 4096;
let pool = new Uint8Array(0);
let offset = 0;

export function randomBytes(count: number): Uint8Array {
  if (count > POOL_BYTES) {
    const bytes = new Uint8Array(count);
    globalThis.crypto.getRandomValues(bytes);
    return bytes;
  }
  if (offset + count > pool.length) {
    pool = new Uint8Array(POOL_BYTES);
    globalThis.crypto.getRandomValues(pool);
    offset = 0;
  }
  const bytes = pool.slice(offset, offset + count);
  offset += count;
  return bytes;
}
