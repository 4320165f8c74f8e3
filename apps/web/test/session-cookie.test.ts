import { NextResponse } from 'next/server';
import { describe, expect, it } from 'vitest';
import { Sessions } from '../lib/server/session';
import { SESSION_MAX_AGE_MS } from '../lib/server/store/store';
import { cookieAttributes } from './route-helpers';

/* The session cookie as Next writes and reads it: every attribute the session relies on. */

const sessions = (secure: boolean) =>
  new Sessions(
    's'.repeat(32),
    secure,
    { isSessionRevoked: async () => false },
    { sessionHolder: async () => undefined },
  );

function setCookieOf(cookie: ReturnType<Sessions['cookie']>): string {
  const response = NextResponse.json({});
  response.cookies.set(cookie);
  return response.headers.get('set-cookie') ?? '';
}

describe('session cookie', () => {
  it('is HttpOnly, SameSite=Lax, Path=/ with a Max-Age, and Secure only when served over HTTPS', () => {
    const plain = setCookieOf(sessions(false).cookie('a.b.c'));
    expect(plain.split(';')[0]).toBe('ovation_session=a.b.c');
    const attributes = cookieAttributes(plain);
    expect(attributes).toMatchObject({ path: '/', httponly: '', samesite: 'lax' });
    expect(Number(attributes['max-age'])).toBe(SESSION_MAX_AGE_MS / 1000);
    expect(attributes).not.toHaveProperty('secure');
    expect(cookieAttributes(setCookieOf(sessions(true).cookie('a.b.c')))).toHaveProperty('secure', '');
  });

  it('over HTTPS is a __Host- cookie, which a sibling subdomain or plain http cannot plant, and only that one counts', () => {
    const secure = setCookieOf(sessions(true).cookie('a.b.c'));
    expect(secure.split(';')[0]).toBe('__Host-ovation_session=a.b.c');
    // What the prefix requires of it (RFC 6265bis): Secure, Path=/, no Domain.
    expect(cookieAttributes(secure)).toMatchObject({ secure: '', path: '/' });
    expect(cookieAttributes(secure)).not.toHaveProperty('domain');
    // A planted unprefixed cookie is not a session there.
    const request = new Request('https://web.test/', { headers: { cookie: 'ovation_session=planted.by.attacker' } });
    expect(sessions(true).tokenOf(request)).toBeUndefined();
  });

  it('lives as long as its family after a rename, and is cleared with Max-Age=0', () => {
    const renamed = cookieAttributes(setCookieOf(sessions(true).cookie('a.b.c', Date.now() + 60_500)));
    expect(Number(renamed['max-age'])).toBe(60);
    const cleared = setCookieOf(sessions(true).clearCookie());
    expect(cleared.split(';')[0]).toBe('__Host-ovation_session=');
    expect(cookieAttributes(cleared)).toMatchObject({
      path: '/',
      httponly: '',
      samesite: 'lax',
      'max-age': '0',
      secure: '',
    });
  });

  it('is read from a Cookie header among others', () => {
    const request = (cookie?: string) => new Request('http://web.test/', cookie ? { headers: { cookie } } : {});
    const read = (cookie?: string) => sessions(false).tokenOf(request(cookie));
    expect(read('theme=dark; ovation_session=x.y.z;other=1')).toBe('x.y.z');
    expect(read('ovation_sessionx=1; theme=dark')).toBeUndefined();
    expect(read()).toBeUndefined();
  });
});
