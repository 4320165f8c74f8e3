import type { FastifyInstance } from 'fastify';
import { expect } from 'vitest';
import { SoftwarePasskey } from '../../../test-support/passkey.js';
import { buildApp as buildDispatcher } from '../../dispatcher/src/app.js';
import { loadDispatcherConfig } from '../../dispatcher/src/config.js';
import { buildApp as buildRealtime } from '../../realtime/src/app.js';
import { loadRealtimeConfig } from '../../realtime/src/config.js';
import * as registerOptions from '../app/api/auth/register/options/route';
import * as registerVerify from '../app/api/auth/register/verify/route';
import * as session from '../app/api/session/route';

/* Calling the product API's route handlers as Next calls them, and the services behind them. */

export const TOKEN = 'web-api-test-token-0123456789';

export const req = (
  path: string,
  init: { method?: string; body?: unknown; cookie?: string; headers?: Record<string, string> } = {},
) =>
  new Request(`http://web.test${path}`, {
    method: init.method ?? 'GET',
    headers: {
      'content-type': 'application/json',
      ...(init.cookie ? { cookie: init.cookie } : {}),
      ...init.headers,
    },
    ...(init.body === undefined ? {} : { body: typeof init.body === 'string' ? init.body : JSON.stringify(init.body) }),
  });

export const params = <T extends Record<string, string>>(p: T) => ({ params: Promise.resolve(p) });

export async function signIn(name: string): Promise<{ cookie: string; user: { id: string; name: string } }> {
  const response = await session.POST(req('/api/session', { method: 'POST', body: { name } }));
  expect(response.status).toBe(200);
  const setCookie = response.headers.get('set-cookie') ?? '';
  expect(setCookie).toMatch(/^ovation_session=[^;]+;/);
  expect(cookieAttributes(setCookie)).toMatchObject({ path: '/', httponly: '', samesite: 'lax' });
  expect(Number(cookieAttributes(setCookie)['max-age'])).toBeGreaterThan(0);
  const body = (await response.json()) as { user: { id: string; name: string } };
  return { cookie: setCookie.split(';')[0] as string, user: body.user };
}

/** The origin route tests' requests come from (the request URL's): the passkeys' RP ID is its host. */
export const ORIGIN = 'http://web.test';

let handles = 0;

/**
 * Signs up with a new software passkey (test-support/passkey.ts), as a browser would: options,
 * the passkey's answer, verify. `cookie`: a guest's session, upgraded to the account. `headers`:
 * more request headers (a client address, CLIENT_ADDRESS_HEADER).
 */
export async function signUp(
  name: string,
  options: { handle?: string; cookie?: string; passkey?: SoftwarePasskey; headers?: Record<string, string> } = {},
): Promise<{ cookie: string; user: { id: string; name: string }; passkey: SoftwarePasskey; handle: string }> {
  const handle = options.handle ?? `user_${process.pid % 1000}_${++handles}`;
  const passkey = options.passkey ?? new SoftwarePasskey('web.test');
  const headers = { origin: ORIGIN, ...options.headers };
  const cookie = options.cookie;
  const begun = await registerOptions.POST(
    req('/api/auth/register/options', {
      method: 'POST',
      body: { name, handle },
      headers,
      ...(cookie ? { cookie } : {}),
    }),
  );
  expect(begun.status, await begun.clone().text()).toBe(200);
  const { ceremony, options: creation } = (await begun.json()) as { ceremony: string; options: never };
  const done = await registerVerify.POST(
    req('/api/auth/register/verify', {
      method: 'POST',
      body: { ceremony, credential: passkey.register(creation, ORIGIN) },
      headers,
      ...(cookie ? { cookie } : {}),
    }),
  );
  expect(done.status, await done.clone().text()).toBe(201);
  const setCookie = done.headers.get('set-cookie') ?? '';
  const body = (await done.json()) as { user: { id: string; name: string } };
  return { cookie: setCookie.split(';')[0] as string, user: body.user, passkey, handle };
}

/** A Set-Cookie header's attributes, names and SameSite's value lower-cased (both are case-insensitive). */
export function cookieAttributes(setCookie: string): Record<string, string> {
  return Object.fromEntries(
    setCookie
      .split(';')
      .slice(1)
      .map((part) => {
        const [name = '', ...value] = part.trim().split('=');
        const key = name.toLowerCase();
        return [key, key === 'samesite' ? value.join('=').toLowerCase() : value.join('=')];
      }),
  );
}

export async function expectError(response: Response, status: number, code: string) {
  expect(response.status).toBe(status);
  const body = (await response.json()) as { error: { code: string; message: string } };
  expect(Object.keys(body)).toEqual(['error']);
  expect(body.error.code).toBe(code);
  expect(body.error.message.length).toBeGreaterThan(0);
  expect(body.error.message).not.toMatch(/\n\s+at /); // never a stack trace
  return body.error.message;
}

/**
 * A real dispatcher (memory mode) and a realtime node registered with it; `env`: more of their
 * environment (both take it, each reads its own variables).
 */
export async function startServices(env: Record<string, string> = {}): Promise<{
  dispatcher: FastifyInstance;
  dispatcherUrl: string;
  node: FastifyInstance;
  nodeUrl: string;
  close(): Promise<void>;
}> {
  const dispatcher = await buildDispatcher(
    loadDispatcherConfig({ INTERNAL_TOKEN: TOKEN, LOG_LEVEL: 'silent', ...env }),
  );
  const dispatcherUrl = await dispatcher.listen({ host: '127.0.0.1', port: 0 });
  const node = await buildRealtime(
    loadRealtimeConfig({
      INTERNAL_TOKEN: TOKEN,
      LOG_LEVEL: 'silent',
      DISPATCHER_URLS: dispatcherUrl,
      PORT: '0',
      ...env,
    }),
  );
  const nodeUrl = await node.listen({ host: '127.0.0.1', port: 0 });
  return {
    dispatcher,
    dispatcherUrl,
    node,
    nodeUrl,
    async close() {
      await node.close();
      await dispatcher.close();
    },
  };
}
