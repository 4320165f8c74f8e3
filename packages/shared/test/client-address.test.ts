import type { IncomingMessage } from 'node:http';
import { describe, expect, it } from 'vitest';
import { addressKey, clientAddress, compileTrustProxy } from '../src/server/client-address.js';

describe('addressKey', () => {
  it('bounds IPv4 by address, IPv6 by its /64 (any host of a subscriber network is one client)', () => {
    expect(addressKey('203.0.113.7')).toBe('203.0.113.7');
    expect(addressKey('::ffff:203.0.113.7')).toBe('203.0.113.7');
    expect(addressKey('2001:db8:1:2::1')).toBe('2001:db8:1:2::/64');
    expect(addressKey('2001:db8:1:2:ffff:ffff:ffff:ffff')).toBe('2001:db8:1:2::/64');
    expect(addressKey('2001:db8:1:3::1')).not.toBe(addressKey('2001:db8:1:2::1'));
    expect(addressKey('unknown')).toBe('unknown');
  });
});

describe('clientAddress', () => {
  const request = (remoteAddress: string | undefined, forwarded?: string) =>
    ({
      socket: { remoteAddress },
      connection: { remoteAddress },
      headers: forwarded === undefined ? {} : { 'x-forwarded-for': forwarded },
    }) as unknown as IncomingMessage;

  it('believes X-Forwarded-For only from a trusted proxy, and never takes a non-address from it', () => {
    const trustLoopback = compileTrustProxy('loopback');
    expect(clientAddress(request('127.0.0.1', '203.0.113.5'), compileTrustProxy(undefined))).toBe('127.0.0.1');
    expect(clientAddress(request('127.0.0.1', '203.0.113.5'), trustLoopback)).toBe('203.0.113.5');
    expect(clientAddress(request('127.0.0.1', 'unknown'), trustLoopback)).toBe('127.0.0.1');
    expect(clientAddress(request('198.51.100.1', '203.0.113.5'), trustLoopback)).toBe('198.51.100.1');
  });
});
