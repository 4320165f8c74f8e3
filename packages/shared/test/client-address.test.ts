import { describe, expect, it } from 'vitest';
import { addressKey } from '../src/server/client-address.js';

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
