import type { IncomingMessage } from 'node:http';
import proxyAddr from '@fastify/proxy-addr';
import ipaddr from 'ipaddr.js';

/*
 * Which address a request comes from, for per-address limits. The socket's peer is the client
 * unless it is a proxy named in TRUST_PROXY; only then is its `X-Forwarded-For` believed, and only
 * as far back as the chain stays within trusted proxies (proxy-addr, the library Express and
 * Fastify use). Anyone else can write any `X-Forwarded-For` they like, so it is ignored.
 */

export type TrustProxy = (address: string, hop: number) => boolean;

/**
 * TRUST_PROXY as a predicate: empty or unset trusts no one; otherwise a comma list of addresses,
 * CIDR ranges, or the names `loopback`, `linklocal`, `uniquelocal`. Throws on a malformed entry.
 */
export function compileTrustProxy(list: string | undefined): TrustProxy {
  const entries = (list ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
  if (entries.length === 0) return () => false;
  return proxyAddr.compile(entries);
}

/** The client's address: the socket's peer, or what trusted proxies say it forwarded for. */
export function clientAddress(req: IncomingMessage, trust: TrustProxy): string {
  const peer = req.socket.remoteAddress;
  if (!peer) return 'unknown';
  const address = proxyAddr(req, trust);
  // A trusted proxy that forwarded something that is no address (`X-Forwarded-For: unknown`)
  // names no client: the proxy itself is the one bounded then, never a shared 'unknown'.
  return ipaddr.isValid(address) ? address : peer;
}

/**
 * The key an address is bounded under: an IPv4 address as it is (an IPv4-mapped IPv6 address as
 * its IPv4), an IPv6 address by its /64 — one subscriber's network, where every host may pick any
 * address, so bounding a /128 would bound nothing.
 */
export function addressKey(address: string): string {
  if (!ipaddr.isValid(address)) return address;
  const parsed = ipaddr.parse(address);
  if (parsed.kind() === 'ipv4') return parsed.toString();
  const v6 = parsed as ipaddr.IPv6;
  if (v6.isIPv4MappedAddress()) return v6.toIPv4Address().toString();
  return `${v6.parts
    .slice(0, 4)
    .map((part) => part.toString(16))
    .join(':')}::/64`;
}
