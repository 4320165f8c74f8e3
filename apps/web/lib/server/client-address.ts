/*
 * The address a web request comes from. The web server (apps/web/server.mjs) works it out from the
 * socket and TRUST_PROXY (packages/shared/src/server/client-address.ts) and hands it to route
 * handlers in this header, after removing any value the client sent; Next's own
 * `X-Forwarded-For` is whatever the client wrote, so it is never used for limits.
 */
export const CLIENT_ADDRESS_HEADER = 'x-ovation-client-address';

/** The request's client address ('unknown' when the handler runs outside the web server, as in unit tests). */
export function clientAddressOf(request: Request): string {
  return request.headers.get(CLIENT_ADDRESS_HEADER) ?? 'unknown';
}
