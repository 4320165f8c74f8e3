/** Cryptographic random bytes in Node and in browsers (Web Crypto is global in both). */
export function randomBytes(count: number): Uint8Array {
  const bytes = new Uint8Array(count);
  globalThis.crypto.getRandomValues(bytes);
  return bytes;
}
