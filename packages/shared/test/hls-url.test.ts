import { describe, expect, it } from 'vitest';
import { checkHlsUrl, MAX_HLS_URL_LENGTH } from '../src/hls-url.js';
import { CreateVideoSchema } from '../src/schemas.js';
import { parseWith } from '../src/validate.js';

/** An attacker's list: URLs that would make viewers' browsers reach their own machine or network. */
const HOSTILE = [
  // loopback, every way a browser spells it
  'http://127.0.0.1/live.m3u8',
  'http://127.1/live.m3u8',
  'http://2130706433/live.m3u8',
  'http://0x7f000001/live.m3u8',
  'http://0x7f.1/live.m3u8',
  'http://0177.0.0.1/live.m3u8',
  'http://127.000.000.001/live.m3u8',
  'http://①②⑦.0.0.1/live.m3u8',
  'http://[::1]/live.m3u8',
  'http://[0:0:0:0:0:0:0:1]/live.m3u8',
  'http://[::ffff:127.0.0.1]/live.m3u8',
  'http://[::ffff:7f00:1]/live.m3u8',
  'http://localhost/live.m3u8',
  'http://LOCALHOST./live.m3u8',
  'http://cam.localhost/live.m3u8',
  // unspecified
  'http://0/live.m3u8',
  'http://0.0.0.0/live.m3u8',
  'http://[::]/live.m3u8',
  // private and shared (RFC 1918, CGNAT, unique-local), v4-mapped and embedded forms
  'http://10.0.0.1/live.m3u8',
  'http://172.16.5.4/live.m3u8',
  'http://192.168.1.1/live.m3u8',
  'http://3232235777/live.m3u8',
  'http://100.64.0.1/live.m3u8',
  'http://[fd00::1]/live.m3u8',
  'http://[fc12:3456::1]/live.m3u8',
  'http://[::ffff:192.168.1.1]/live.m3u8',
  'http://[64:ff9b::c0a8:101]/live.m3u8',
  'http://[2002:c0a8:101::1]/live.m3u8',
  // link-local (cloud metadata lives here), multicast, broadcast, reserved
  'http://169.254.169.254/latest/meta-data/',
  'http://[fe80::1]/live.m3u8',
  'http://224.0.0.1/live.m3u8',
  'http://255.255.255.255/live.m3u8',
  'http://240.0.0.1/live.m3u8',
  // local-only and single-label names
  'http://router/live.m3u8',
  'http://nas.local/live.m3u8',
  'http://printer.home.arpa/live.m3u8',
  'http://db.internal/live.m3u8',
  // not http(s), credentials, not a URL, protocol-relative and backslash tricks
  'javascript:alert(1)',
  'data:application/vnd.apple.mpegurl;base64,I0VYVE0zVQ==',
  'file:///etc/passwd',
  'ftp://cdn.example.com/live.m3u8',
  'https://cdn.example.com@192.168.1.1/live.m3u8',
  'https://user:pass@cdn.example.com/live.m3u8',
  '//evil.example.com/live.m3u8',
  '/\\evil.example.com/live.m3u8',
  '/api/auth/logout',
  '/demo/../api/x.m3u8',
  'live.m3u8',
  '',
  `https://cdn.example.com/${'a'.repeat(MAX_HLS_URL_LENGTH)}`,
];

describe('hlsUrl', () => {
  it.each(HOSTILE)('refuses %s', (url) => {
    expect(checkHlsUrl(url, { production: false }).ok).toBe(false);
    expect(() => parseWith(CreateVideoSchema, { title: 't', hlsUrl: url })).toThrow(/body.hlsUrl: hlsUrl /);
  });

  it('names the range it refused', () => {
    expect(checkHlsUrl('http://[::ffff:127.0.0.1]/', { production: false })).toEqual({
      ok: false,
      reason: 'host is a loopback address',
    });
    expect(checkHlsUrl('http://169.254.169.254/', { production: false })).toEqual({
      ok: false,
      reason: 'host is a linkLocal address',
    });
  });

  it('accepts public streams and the demo path, as the browser will fetch them', () => {
    expect(checkHlsUrl('https://cdn.example.com/live/index.m3u8?t=1', { production: true })).toEqual({
      ok: true,
      url: 'https://cdn.example.com/live/index.m3u8?t=1',
    });
    expect(checkHlsUrl('HTTPS://CDN.Example.COM/a.m3u8', { production: true })).toEqual({
      ok: true,
      url: 'https://cdn.example.com/a.m3u8',
    });
    expect(checkHlsUrl('http://93.184.215.14:8080/a.m3u8', { production: false }).ok).toBe(true);
    expect(checkHlsUrl('https://[2606:4700::1111]/a.m3u8', { production: true }).ok).toBe(true);
    expect(checkHlsUrl('/demo/live.m3u8', { production: true })).toEqual({ ok: true, url: '/demo/live.m3u8' });
    expect(parseWith(CreateVideoSchema, { title: 'Show', hlsUrl: 'https://cdn.example.com/x.m3u8' }).hlsUrl).toBe(
      'https://cdn.example.com/x.m3u8',
    );
    expect(parseWith(CreateVideoSchema, { title: 'Show' }).hlsUrl).toBeUndefined();
  });

  it('requires https in production', () => {
    expect(checkHlsUrl('http://cdn.example.com/a.m3u8', { production: true })).toEqual({
      ok: false,
      reason: 'must be an https URL',
    });
    expect(checkHlsUrl('http://cdn.example.com/a.m3u8', { production: false }).ok).toBe(true);
  });
});
