import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CreationOptions, SoftwarePasskey } from '../../../test-support/passkey.js';
import { redisForThisFile } from '../../../test-support/shared-redis.js';
import * as passkeyRoute from '../app/api/account/passkeys/[id]/route';
import * as addOptions from '../app/api/account/passkeys/options/route';
import * as addVerify from '../app/api/account/passkeys/verify/route';
import * as account from '../app/api/account/route';
import * as loginOptions from '../app/api/auth/login/options/route';
import * as loginVerify from '../app/api/auth/login/verify/route';
import * as logout from '../app/api/auth/logout/route';
import * as reauthOptions from '../app/api/auth/reauth/options/route';
import * as reauthVerify from '../app/api/auth/reauth/verify/route';
import * as registerOptions from '../app/api/auth/register/options/route';
import * as registerVerify from '../app/api/auth/register/verify/route';
import * as sessionRoute from '../app/api/auth/sessions/[id]/route';
import * as sessionsRoute from '../app/api/auth/sessions/route';
import * as session from '../app/api/session/route';
import * as commentsRoute from '../app/api/videos/[id]/comments/route';
import * as videoRoute from '../app/api/videos/[id]/route';
import * as startRoute from '../app/api/videos/[id]/start/route';
import * as videos from '../app/api/videos/route';
import { loadWebConfig } from '../lib/server/config';
import { context, createContext, setContext } from '../lib/server/context';
import { MAX_PASSKEYS_PER_ACCOUNT } from '../lib/server/store/accounts';
import { expectError, ORIGIN, params, req, signIn, signUp, startServices, TOKEN } from './route-helpers';

/*
 * Accounts with passkeys through the routes, as a browser drives them (a software passkey in
 * place of the authenticator): sign up, sign in elsewhere, sessions, passkeys, the guest upgrade,
 * and each way a passkey answer is refused. Memory and Redis.
 */

const shared = redisForThisFile('accounts-routes');
const headers = { origin: ORIGIN };

let services: Awaited<ReturnType<typeof startServices>>;
beforeAll(async () => {
  services = await startServices();
});
afterAll(() => services.close());

const env = () => ({ INTERNAL_TOKEN: TOKEN, DISPATCHER_URLS: services.dispatcherUrl, COMMENTS_PER_SECOND: '20' });
const modes: Record<string, () => ReturnType<typeof createContext>> = {
  memory: () => createContext(loadWebConfig(env())),
  redis: () =>
    createContext(loadWebConfig({ ...env(), REDIS_PREFIX: shared.prefix() }), {
      redis: shared.client(),
    }),
};

const me = async (cookie: string) =>
  (await (await session.GET(req('/api/session', { cookie }))).json()) as {
    user: { id: string; name: string } | null;
    account?: { handle: string; name: string };
  };

/** A sign-in with `passkey`; `answeredOn`: the origin the browser's answer names (ours by default). */
async function signInWith(passkey: SoftwarePasskey, answeredOn = ORIGIN) {
  const begun = await loginOptions.POST(req('/api/auth/login/options', { method: 'POST', headers }));
  expect(begun.status).toBe(200);
  const { ceremony, options } = (await begun.json()) as { ceremony: string; options: { challenge: string } };
  return loginVerify.POST(
    req('/api/auth/login/verify', {
      method: 'POST',
      headers,
      body: { ceremony, credential: passkey.authenticate(options, answeredOn) },
    }),
  );
}

const cookieOf = (response: Response) => (response.headers.get('set-cookie') ?? '').split(';')[0] as string;

describe.each(Object.entries(modes))('accounts (%s)', (_mode, make) => {
  beforeAll(() => setContext(make()));
  afterAll(() => setContext(undefined));

  it('signs up with a passkey, signs in elsewhere with it, lists and ends sessions, signs out', async () => {
    const first = await signUp('Ann');
    expect(await me(first.cookie)).toEqual({
      user: first.user,
      account: expect.objectContaining({ id: first.user.id, name: 'Ann', handle: first.handle }),
    });
    // Its name is the account's: a guest rename would replace the account's session.
    await expectError(
      await session.POST(req('/api/session', { method: 'POST', cookie: first.cookie, body: { name: 'Guest' } })),
      409,
      'CONFLICT',
    );

    // Another browser: the same passkey (synced) signs in to the same account.
    const signedIn = await signInWith(first.passkey);
    expect(signedIn.status).toBe(200);
    expect(await signedIn.json()).toMatchObject({ user: first.user, account: { handle: first.handle } });
    const second = cookieOf(signedIn);
    expect((await me(second)).user).toEqual(first.user);

    const listed = (await (await sessionsRoute.GET(req('/api/auth/sessions', { cookie: second }))).json()) as {
      sessions: Array<{ id: string; current: boolean }>;
    };
    expect(listed.sessions).toHaveLength(2);
    expect(listed.sessions.map((s) => s.current)).toEqual([true, false]);

    // A rename shows in every session.
    const renamed = await account.PATCH(
      req('/api/account', { method: 'PATCH', cookie: second, body: { name: 'Ann B' } }),
    );
    expect(renamed.status).toBe(200);
    expect((await me(first.cookie)).user?.name).toBe('Ann B');

    // Ending the first browser's session from the second: its cookie stops working.
    const firstId = listed.sessions[1]?.id as string;
    const ended = await sessionRoute.DELETE(
      req(`/api/auth/sessions/${firstId}`, { method: 'DELETE', cookie: second }),
      params({ id: firstId }),
    );
    expect(await ended.json()).toEqual({ ended: true });
    expect((await me(first.cookie)).user).toBeNull();
    await expectError(
      await sessionRoute.DELETE(
        req(`/api/auth/sessions/${firstId}`, { method: 'DELETE', cookie: second }),
        params({ id: firstId }),
      ),
      404,
      'NOT_FOUND',
    );

    const out = await logout.POST(req('/api/auth/logout', { method: 'POST', cookie: second }));
    expect(await out.json()).toEqual({ user: null });
    expect(out.headers.get('set-cookie')).toMatch(/Max-Age=0/i);
    expect((await me(second)).user).toBeNull();
  });

  it('broadcasting needs an account: a guest gets ACCOUNT_REQUIRED, an account creates', async () => {
    const guest = await signIn('Guest Broadcaster');
    await expectError(
      await videos.POST(req('/api/videos', { method: 'POST', cookie: guest.cookie, body: { title: 'Mine' } })),
      403,
      'ACCOUNT_REQUIRED',
    );
    const owner = await signUp('Broadcaster');
    const created = await videos.POST(
      req('/api/videos', { method: 'POST', cookie: owner.cookie, body: { title: 'Mine' } }),
    );
    expect(created.status).toBe(201);
    expect(((await created.json()) as { video: { ownerId: string } }).video.ownerId).toBe(owner.user.id);
  });

  it("upgrades a guest: the account keeps the guest's id (and so their videos); the guest's cookies end", async () => {
    const guest = await signIn('Upgrader');
    const upgraded = await signUp('Upgrader', { cookie: guest.cookie });
    expect(upgraded.user.id).toBe(guest.user.id);
    expect((await me(guest.cookie)).user).toBeNull();
    expect((await me(upgraded.cookie)).account).toMatchObject({ handle: upgraded.handle });
    // A video made by the account is listed as the guest's id: one identity throughout.
    const created = await videos.POST(
      req('/api/videos', { method: 'POST', cookie: upgraded.cookie, body: { title: 'Kept' } }),
    );
    expect(((await created.json()) as { video: { ownerId: string } }).video.ownerId).toBe(guest.user.id);
    // Signed in with an account, a second sign-up is refused.
    await expectError(
      await registerOptions.POST(
        req('/api/auth/register/options', {
          method: 'POST',
          cookie: upgraded.cookie,
          headers,
          body: { name: 'Again', handle: 'again_1' },
        }),
      ),
      409,
      'CONFLICT',
    );
  });

  it('handles are unique whatever their case, checked when options are asked and again when verified', async () => {
    const taken = await signUp('Holder', { handle: `Holder_${_mode}` });
    await expectError(
      await registerOptions.POST(
        req('/api/auth/register/options', {
          method: 'POST',
          headers,
          body: { name: 'Other', handle: taken.handle.toUpperCase() },
        }),
      ),
      409,
      'HANDLE_TAKEN',
    );
    // Two sign-ups asked for one free handle: the second to verify is refused.
    const ask = async () => {
      const response = await registerOptions.POST(
        req('/api/auth/register/options', { method: 'POST', headers, body: { name: 'Race', handle: `race_${_mode}` } }),
      );
      return (await response.json()) as { ceremony: string; options: never };
    };
    const [a, b] = [await ask(), await ask()];
    const verify = (begun: { ceremony: string; options: never }) =>
      registerVerify.POST(
        req('/api/auth/register/verify', {
          method: 'POST',
          headers,
          body: {
            ceremony: begun.ceremony,
            credential: new SoftwarePasskey('web.test').register(begun.options, ORIGIN),
          },
        }),
      );
    expect((await verify(a)).status).toBe(201);
    await expectError(await verify(b), 409, 'HANDLE_TAKEN');
    // Handles that would pass for the service itself are reserved.
    await expectError(
      await registerOptions.POST(
        req('/api/auth/register/options', { method: 'POST', headers, body: { name: 'Admin', handle: 'Admin' } }),
      ),
      409,
      'HANDLE_TAKEN',
    );
    await expectError(
      await registerOptions.POST(
        req('/api/auth/register/options', { method: 'POST', headers, body: { name: 'Bad', handle: 'no spaces' } }),
      ),
      400,
      'VALIDATION_FAILED',
    );
  });

  it('refuses a passkey answer for another origin, a used or unknown ceremony, no user verification, a bad signature', async () => {
    const owner = await signUp('Careful');
    // Options for another origin are not given; an answer made on another origin (a page
    // relaying our challenge) is refused.
    await expectError(
      await loginOptions.POST(
        req('/api/auth/login/options', { method: 'POST', headers: { origin: 'http://evil.test' } }),
      ),
      403,
      'FORBIDDEN',
    );
    await expectError(await signInWith(owner.passkey, 'http://evil.test'), 400, 'BAD_REQUEST');

    const begin = async () =>
      (await (await loginOptions.POST(req('/api/auth/login/options', { method: 'POST', headers }))).json()) as {
        ceremony: string;
        options: { challenge: string };
      };
    const answer = (ceremony: string, credential: unknown) =>
      loginVerify.POST(req('/api/auth/login/verify', { method: 'POST', headers, body: { ceremony, credential } }));

    // A ceremony is answered once.
    const once = await begin();
    const credential = owner.passkey.authenticate(once.options, ORIGIN);
    expect((await answer(once.ceremony, credential)).status).toBe(200);
    await expectError(await answer(once.ceremony, credential), 400, 'BAD_REQUEST');
    await expectError(await answer('c-00000000000000000000', credential), 400, 'BAD_REQUEST');
    // A replayed answer under a new ceremony: its challenge is the old one.
    await expectError(await answer((await begin()).ceremony, credential), 400, 'BAD_REQUEST');

    // The authenticator did not verify the person.
    owner.passkey.verifiesUser = false;
    const unverified = await begin();
    await expectError(
      await answer(unverified.ceremony, owner.passkey.authenticate(unverified.options, ORIGIN)),
      400,
      'BAD_REQUEST',
    );
    owner.passkey.verifiesUser = true;

    // A signature by another key for this credential id.
    const forger = new SoftwarePasskey('web.test');
    const forged = await begin();
    const signedByForger = forger.authenticate(forged.options, ORIGIN);
    await expectError(
      await answer(forged.ceremony, { ...signedByForger, id: owner.passkey.id, rawId: owner.passkey.id }),
      400,
      'BAD_REQUEST',
    );
    // A credential never registered.
    const unknown = await begin();
    await expectError(
      await answer(unknown.ceremony, forger.authenticate(unknown.options, ORIGIN)),
      401,
      'UNAUTHORIZED',
    );

    // A counter that goes back (a cloned authenticator).
    owner.passkey.counter = 0;
    const cloned = await begin();
    await expectError(
      await answer(cloned.ceremony, owner.passkey.authenticate(cloned.options, ORIGIN)),
      400,
      'BAD_REQUEST',
    );

    // Malformed answers are refused by shape, before any check.
    await expectError(await answer(unknown.ceremony, { id: 'x' }), 400, 'VALIDATION_FAILED');
    await expectError(
      await answer((await begin()).ceremony, {
        ...credential,
        response: { ...credential.response, signature: 'a'.repeat(9_000) },
      }),
      400,
      'VALIDATION_FAILED',
    );
  });

  it(`keeps several passkeys (at most ${MAX_PASSKEYS_PER_ACCOUNT}); a removed one no longer signs in; never the last`, async () => {
    const owner = await signUp('Keys');
    const add = async (passkey: SoftwarePasskey) => {
      const begun = await addOptions.POST(
        req('/api/account/passkeys/options', { method: 'POST', cookie: owner.cookie, headers }),
      );
      const { ceremony, options } = (await begun.json()) as {
        ceremony: string;
        options: CreationOptions & { excludeCredentials: Array<{ id: string }> };
      };
      expect(options.excludeCredentials.map((c) => c.id)).toContain(owner.passkey.id);
      return addVerify.POST(
        req('/api/account/passkeys/verify', {
          method: 'POST',
          cookie: owner.cookie,
          headers,
          body: { ceremony, credential: passkey.register(options, ORIGIN) },
        }),
      );
    };
    const laptop = new SoftwarePasskey('web.test');
    expect((await add(laptop)).status).toBe(201);
    await expectError(await add(laptop), 409, 'CONFLICT');
    const onLaptop = await signInWith(laptop);
    expect(onLaptop.status).toBe(200);
    const laptopCookie = cookieOf(onLaptop);

    const listed = (await (await account.GET(req('/api/account', { cookie: owner.cookie }))).json()) as {
      passkeys: Array<{ id: string; lastUsedAt?: string }>;
    };
    expect(listed.passkeys.map((p) => p.id)).toEqual([owner.passkey.id, laptop.id]);
    expect(listed.passkeys[1]?.lastUsedAt).toBeDefined();
    expect(JSON.stringify(listed)).not.toContain('publicKey');

    const remove = (id: string, cookie = laptopCookie) =>
      passkeyRoute.DELETE(req(`/api/account/passkeys/${id}`, { method: 'DELETE', cookie }), params({ id }));
    // Removing the first passkey (from the laptop's session) ends the sessions it signed in.
    expect((await remove(owner.passkey.id)).status).toBe(200);
    expect((await me(owner.cookie)).user).toBeNull();
    expect((await me(laptopCookie)).user).toEqual(owner.user);
    await expectError(await signInWith(owner.passkey), 401, 'UNAUTHORIZED');
    await expectError(await remove(laptop.id), 409, 'CONFLICT');
    await expectError(await remove('nope'), 404, 'NOT_FOUND');

    // Another account cannot add a passkey by answering this account's ceremony.
    const other = await signUp('Other');
    const begun = await addOptions.POST(
      req('/api/account/passkeys/options', { method: 'POST', cookie: laptopCookie, headers }),
    );
    const { ceremony, options } = (await begun.json()) as { ceremony: string; options: never };
    await expectError(
      await addVerify.POST(
        req('/api/account/passkeys/verify', {
          method: 'POST',
          cookie: other.cookie,
          headers,
          body: { ceremony, credential: new SoftwarePasskey('web.test').register(options, ORIGIN) },
        }),
      ),
      403,
      'FORBIDDEN',
    );
  });

  it('changing the ways in needs a passkey checked in the last 10 minutes: a stolen cookie cannot take the account', async () => {
    const owner = await signUp('Careful Owner');
    const second = cookieOf(await signInWith(owner.passkey));
    const sessionsOf = async (cookie: string) =>
      (
        (await (await sessionsRoute.GET(req('/api/auth/sessions', { cookie }))).json()) as {
          sessions: Array<{ id: string; current: boolean }>;
        }
      ).sessions;
    const all = await sessionsOf(owner.cookie);
    const current = all.find((s) => s.current)?.id ?? '';
    const other = all.find((s) => !s.current)?.id ?? '';
    expect([current, other].every((id) => id.length > 0)).toBe(true);
    // The cookie's session was signed in more than 10 minutes ago (or the cookie was stolen since).
    const { accounts } = context();
    await accounts.markSessionVerified(owner.user.id, current, Date.now() - 11 * 60_000);

    const addBegin = () =>
      addOptions.POST(req('/api/account/passkeys/options', { method: 'POST', cookie: owner.cookie, headers }));
    await expectError(await addBegin(), 403, 'REAUTH_REQUIRED');
    await expectError(
      await passkeyRoute.DELETE(
        req(`/api/account/passkeys/${owner.passkey.id}`, { method: 'DELETE', cookie: owner.cookie }),
        params({ id: owner.passkey.id }),
      ),
      403,
      'REAUTH_REQUIRED',
    );
    const endOther = () =>
      sessionRoute.DELETE(
        req(`/api/auth/sessions/${other}`, { method: 'DELETE', cookie: owner.cookie }),
        params({ id: other }),
      );
    await expectError(await endOther(), 403, 'REAUTH_REQUIRED');

    // Confirming needs one of the account's own passkeys.
    const confirm = async (passkey: SoftwarePasskey, cookie = owner.cookie) => {
      const begun = await reauthOptions.POST(req('/api/auth/reauth/options', { method: 'POST', cookie, headers }));
      const { ceremony, options } = (await begun.json()) as {
        ceremony: string;
        options: { challenge: string; allowCredentials: Array<{ id: string }> };
      };
      expect(options.allowCredentials.map((c) => c.id)).toEqual([owner.passkey.id]);
      return reauthVerify.POST(
        req('/api/auth/reauth/verify', {
          method: 'POST',
          cookie,
          headers,
          body: { ceremony, credential: passkey.authenticate(options, ORIGIN) },
        }),
      );
    };
    const stranger = await signUp('Stranger');
    await expectError(await confirm(stranger.passkey), 403, 'FORBIDDEN');
    expect((await confirm(owner.passkey)).status).toBe(200);
    expect((await addBegin()).status).toBe(200);
    expect(await (await endOther()).json()).toEqual({ ended: true });
    expect((await me(second)).user).toBeNull();
    // Ending one's own session is signing out: no confirmation needed.
    await accounts.markSessionVerified(owner.user.id, current, 0);
    const own = await sessionRoute.DELETE(
      req(`/api/auth/sessions/${current}`, { method: 'DELETE', cookie: owner.cookie }),
      params({ id: current }),
    );
    expect(own.status).toBe(200);
  });

  it('members-only comments: the owner turns them on; then a guest gets ACCOUNT_REQUIRED, an account and the owner comment', async () => {
    const owner = await signUp('Members Host');
    const created = await videos.POST(
      req('/api/videos', { method: 'POST', cookie: owner.cookie, body: { title: 'Club' } }),
    );
    const { video } = (await created.json()) as { video: { id: string } };
    const start = await startRoute.POST(
      req(`/api/videos/${video.id}/start`, { method: 'POST', cookie: owner.cookie }),
      params({ id: video.id }),
    );
    expect(start.status).toBe(200);
    const guest = await signIn('Guest Fan');
    const member = await signUp('Member Fan');
    const patch = (cookie: string, body: unknown) =>
      videoRoute.PATCH(req(`/api/videos/${video.id}`, { method: 'PATCH', cookie, body }), params({ id: video.id }));
    const say = (cookie: string, text: string) =>
      commentsRoute.POST(
        req(`/api/videos/${video.id}/comments`, { method: 'POST', cookie, body: { text } }),
        params({ id: video.id }),
      );

    expect((await say(guest.cookie, 'open to all')).status).toBe(201);
    await expectError(await patch(member.cookie, { membersOnlyComments: true }), 403, 'FORBIDDEN');
    await expectError(await patch(owner.cookie, { membersOnlyComments: 'yes' }), 400, 'VALIDATION_FAILED');
    const on = await patch(owner.cookie, { membersOnlyComments: true });
    expect(((await on.json()) as { video: unknown }).video).toMatchObject({ membersOnlyComments: true });
    expect(await (await videoRoute.GET(req(`/api/videos/${video.id}`), params({ id: video.id }))).json()).toMatchObject(
      {
        video: { membersOnlyComments: true },
      },
    );

    await expectError(await say(guest.cookie, 'guest again'), 403, 'ACCOUNT_REQUIRED');
    expect((await say(member.cookie, 'as a member')).status).toBe(201);
    expect((await say(owner.cookie, 'as the host')).status).toBe(201);

    const off = await patch(owner.cookie, { membersOnlyComments: false });
    expect(((await off.json()) as { video: Record<string, unknown> }).video).not.toHaveProperty('membersOnlyComments');
    expect((await say(guest.cookie, 'open again')).status).toBe(201);
    await expectError(
      await videoRoute.PATCH(
        req('/api/videos/none', { method: 'PATCH', cookie: owner.cookie, body: { membersOnlyComments: true } }),
        params({ id: 'none' }),
      ),
      404,
      'NOT_FOUND',
    );
  });

  it('account pages need an account: signed out 401, a guest ACCOUNT_REQUIRED', async () => {
    await expectError(await sessionsRoute.GET(req('/api/auth/sessions')), 401, 'UNAUTHORIZED');
    const guest = await signIn('Just Watching');
    await expectError(await account.GET(req('/api/account', { cookie: guest.cookie })), 403, 'ACCOUNT_REQUIRED');
    await expectError(
      await addOptions.POST(req('/api/account/passkeys/options', { method: 'POST', cookie: guest.cookie, headers })),
      403,
      'ACCOUNT_REQUIRED',
    );
  });
});

describe('accounts: the relying party', () => {
  afterAll(() => setContext(undefined));

  it('in production, passkeys need WEB_ORIGINS (never a relying party from a header)', async () => {
    const secrets = {
      SESSION_SECRET: 'a'.repeat(40),
      CONNECT_TOKEN_SECRET: 'b'.repeat(40),
      INTERNAL_TOKEN: 'c'.repeat(40),
    };
    setContext(createContext(loadWebConfig({ NODE_ENV: 'production', ...secrets })));
    const message = await expectError(
      await loginOptions.POST(req('/api/auth/login/options', { method: 'POST', headers })),
      403,
      'FORBIDDEN',
    );
    expect(message).toMatch(/WEB_ORIGINS/);
    setContext(createContext(loadWebConfig({ NODE_ENV: 'production', ...secrets, WEB_ORIGINS: ORIGIN })));
    expect((await loginOptions.POST(req('/api/auth/login/options', { method: 'POST', headers }))).status).toBe(200);
  });

  it('with WEB_ORIGINS, passkeys are used only on those origins', async () => {
    setContext(createContext(loadWebConfig({ INTERNAL_TOKEN: TOKEN, WEB_ORIGINS: 'http://localhost:3000' })));
    await expectError(
      await loginOptions.POST(
        req('/api/auth/login/options', { method: 'POST', headers: { origin: 'http://other.test' } }),
      ),
      403,
      'FORBIDDEN',
    );
    const begun = await loginOptions.POST(
      req('/api/auth/login/options', { method: 'POST', headers: { origin: 'http://localhost:3000' } }),
    );
    expect(((await begun.json()) as { options: { rpId: string } }).options.rpId).toBe('localhost');
  });
});
