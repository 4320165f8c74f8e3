import type { RedisClient } from '@ovation/shared/redis';
import { beforeEach, describe, expect, it } from 'vitest';
import { waitFor } from '../../../test-support/poll.js';
import { redisForThisFile } from '../../../test-support/shared-redis.js';
import {
  type Account,
  type AccountStore,
  type AccountStoreOptions,
  MAX_PASSKEYS_PER_ACCOUNT,
  MAX_SESSIONS_PER_ACCOUNT,
  type Passkey,
  PENDING_ACCOUNT_GRACE_MS,
} from '../lib/server/store/accounts';
import { MemoryAccounts } from '../lib/server/store/memory-accounts';
import { RedisAccounts } from '../lib/server/store/redis-accounts';

const shared = redisForThisFile('account-test', { cluster: true });

/** Each driver, and (Redis) the client and prefix it writes under, for the step tests. */
const drivers: Record<string, (options?: AccountStoreOptions) => { store: AccountStore; raw?: [RedisClient, string] }> =
  {
    memory: (options) => ({ store: new MemoryAccounts(options) }),
    redis: (options) => {
      const prefix = shared.prefix();
      return { store: new RedisAccounts(shared.client(), prefix, options), raw: [shared.client(), prefix] };
    },
    'redis cluster': (options) => {
      const prefix = shared.prefix();
      return {
        store: new RedisAccounts(shared.clusterClient(), prefix, options),
        raw: [shared.clusterClient(), prefix],
      };
    },
  };

const account = (id: string, handle: string, name = 'Ann'): Account => ({
  id,
  name,
  handle,
  createdAt: new Date().toISOString(),
});
const passkey = (id: string, createdAt = new Date().toISOString()): Passkey => ({
  id,
  publicKey: `pk-${id}`,
  counter: 0,
  transports: ['internal'],
  backedUp: false,
  createdAt,
});

describe.each(Object.entries(drivers))('AccountStore contract (%s)', (_name, make) => {
  let store: AccountStore;
  beforeEach(() => {
    ({ store } = make());
  });

  it('makes an account with its first passkey, found by id, by handle in any case, and by credential', async () => {
    expect(await store.createAccount(account('u-ann', 'Ann_1'), passkey('cred-a'))).toBe('created');
    expect(await store.getAccount('u-ann')).toMatchObject({ id: 'u-ann', name: 'Ann', handle: 'Ann_1' });
    expect(await store.accountIdOfHandle('ann_1')).toBe('u-ann');
    expect(await store.accountIdOfHandle('ANN_1')).toBe('u-ann');
    expect(await store.findPasskey('cred-a')).toEqual({
      userId: 'u-ann',
      passkey: passkey('cred-a', expect.any(String)),
    });
    expect((await store.listPasskeys('u-ann')).map((p) => p.id)).toEqual(['cred-a']);
    expect(await store.getAccount('u-nobody')).toBeUndefined();
    expect(await store.accountIdOfHandle('nobody')).toBeUndefined();
    expect(await store.findPasskey('cred-none')).toBeUndefined();
  });

  it("refuses an id that is an account, a handle in any case and a credential that are another's — and a refused sign-up leaves nothing", async () => {
    expect(await store.createAccount(account('u-ann', 'ann'), passkey('cred-a'))).toBe('created');
    expect(await store.createAccount(account('u-ann', 'other'), passkey('cred-x'))).toBe('exists');
    expect(await store.createAccount(account('u-bob', 'ANN'), passkey('cred-b'))).toBe('handle-taken');
    expect(await store.createAccount(account('u-bob', 'bob'), passkey('cred-a'))).toBe('passkey-taken');
    // Bob is no account, and the refused sign-ups held neither his handle nor his credential:
    // others take them.
    expect(await store.getAccount('u-bob')).toBeUndefined();
    expect(await store.accountIdOfHandle('bob')).toBeUndefined();
    expect(await store.findPasskey('cred-b')).toBeUndefined();
    expect(await store.createAccount(account('u-carl', 'carl'), passkey('cred-b'))).toBe('created');
    expect(await store.createAccount(account('u-dan', 'bob'), passkey('cred-d'))).toBe('created');
    expect(await store.createAccount(account('u-bob', 'bobby'), passkey('cred-bb'))).toBe('created');
    // Ann is as she was.
    expect(await store.getAccount('u-ann')).toMatchObject({ handle: 'ann' });
    expect(await store.accountIdOfHandle('other')).toBeUndefined();
    expect(await store.findPasskey('cred-x')).toBeUndefined();
  });

  it('two sign-ups at once: one handle goes to one of them; one id becomes one account', async () => {
    const race = await Promise.all([
      store.createAccount(account('u-one', 'same'), passkey('c-one')),
      store.createAccount(account('u-two', 'SAME'), passkey('c-two')),
    ]);
    expect([...race].sort()).toEqual(['created', 'handle-taken']);
    const winner = race[0] === 'created' ? 'u-one' : 'u-two';
    expect(await store.accountIdOfHandle('same')).toBe(winner);
    const twice = await Promise.all([
      store.createAccount(account('u-three', 'three'), passkey('c-3a')),
      store.createAccount(account('u-three', 'tres'), passkey('c-3b')),
    ]);
    expect(twice.filter((outcome) => outcome === 'created')).toHaveLength(1);
    expect(twice.every((outcome) => ['created', 'exists', 'busy'].includes(outcome))).toBe(true);
    const made = await store.getAccount('u-three');
    // The account holds the handle it was made with, and that handle names it.
    expect(made && (await store.accountIdOfHandle(made.handle))).toBe('u-three');
    expect((await store.listPasskeys('u-three')).map((p) => p.id)).toEqual([
      made?.handle === 'three' ? 'c-3a' : 'c-3b',
    ]);
  });

  it(`keeps up to ${MAX_PASSKEYS_PER_ACCOUNT} passkeys per account, each credential one account's, never removing the last`, async () => {
    await store.createAccount(account('u-ann', 'ann'), passkey('k0', '2026-01-01T00:00:00.000Z'));
    await store.createAccount(account('u-bob', 'bob'), passkey('b0'));
    for (let i = 1; i < MAX_PASSKEYS_PER_ACCOUNT; i++) {
      expect(await store.addPasskey('u-ann', passkey(`k${i}`, `2026-01-01T00:00:0${i}.000Z`))).toBe('added');
    }
    expect(await store.addPasskey('u-ann', passkey('k-extra'))).toBe('full');
    expect(await store.findPasskey('k-extra')).toBeUndefined();
    expect(await store.addPasskey('u-bob', passkey('k1'))).toBe('taken');
    expect(await store.addPasskey('u-nobody', passkey('n1'))).toBe('no-account');
    expect(await store.findPasskey('n1')).toBeUndefined();
    // Refused, they held nothing: another account adds them.
    expect(await store.addPasskey('u-bob', passkey('k-extra'))).toBe('added');
    expect(await store.addPasskey('u-bob', passkey('n1'))).toBe('added');
    // Registered already, its own: refused, and its counter is not reset.
    await store.notePasskeyUse('u-ann', 'k1', 9, '2026-12-06T10:00:00.000Z');
    expect(await store.addPasskey('u-ann', passkey('k1'))).toBe('taken');
    expect(await store.findPasskey('k1')).toMatchObject({ userId: 'u-ann', passkey: { counter: 9 } });
    const listed = await store.listPasskeys('u-ann');
    expect(listed.map((p) => p.id)).toEqual(Array.from({ length: MAX_PASSKEYS_PER_ACCOUNT }, (_, i) => `k${i}`));

    expect(await store.removePasskey('u-ann', 'k3')).toBe('removed');
    expect(await store.findPasskey('k3')).toBeUndefined();
    expect(await store.removePasskey('u-ann', 'k3')).toBe('missing');
    // Bob's only passkey stays, and Ann's credential cannot be removed through Bob.
    await store.createAccount(account('u-eve', 'eve'), passkey('e0'));
    expect(await store.removePasskey('u-eve', 'e0')).toBe('last');
    expect(await store.removePasskey('u-eve', 'k1')).toBe('missing');
    expect(await store.findPasskey('e0')).toMatchObject({ userId: 'u-eve' });
    expect(await store.findPasskey('k1')).toMatchObject({ userId: 'u-ann' });
    // A removed credential can be added again (to another account, too).
    expect(await store.addPasskey('u-bob', passkey('k3'))).toBe('added');
    expect(await store.findPasskey('k3')).toMatchObject({ userId: 'u-bob' });
  });

  it('notes each use: the counter must go up (or stay 0, a synced passkey), checked and written at once', async () => {
    await store.createAccount(account('u-ann', 'ann'), passkey('k0'));
    expect(await store.notePasskeyUse('u-ann', 'k0', 0, '2026-12-06T09:59:00.000Z')).toBe(true);
    expect(await store.notePasskeyUse('u-ann', 'k0', 7, '2026-12-06T10:00:00.000Z')).toBe(true);
    // The same counter again (a replayed or cloned answer), or a lower one: refused, nothing noted.
    expect(await store.notePasskeyUse('u-ann', 'k0', 7, '2026-12-06T10:01:00.000Z')).toBe(false);
    expect(await store.notePasskeyUse('u-ann', 'k0', 3, '2026-12-06T10:01:00.000Z')).toBe(false);
    expect(await store.findPasskey('k0')).toMatchObject({
      passkey: { counter: 7, lastUsedAt: '2026-12-06T10:00:00.000Z' },
    });
    // Two uses with one counter at once: one passes.
    const both = await Promise.all([
      store.notePasskeyUse('u-ann', 'k0', 8, '2026-12-06T10:02:00.000Z'),
      store.notePasskeyUse('u-ann', 'k0', 8, '2026-12-06T10:02:00.000Z'),
    ]);
    expect(both.filter(Boolean)).toHaveLength(1);
    expect(await store.notePasskeyUse('u-ann', 'k-none', 1, '2026-12-06T10:02:00.000Z')).toBe(false);
    expect(await store.notePasskeyUse('u-bob', 'k0', 1, '2026-12-06T10:02:00.000Z')).toBe(false);
  });

  it(`renames an account, and keeps its open sessions (at most ${MAX_SESSIONS_PER_ACCOUNT}, the oldest closed past it)`, async () => {
    expect(await store.renameAccount('u-none', 'Nobody')).toBe(false);
    await store.createAccount(account('u-ses', 'sessions_1'), passkey('cred-ses'));
    expect(await store.renameAccount('u-ses', 'Renamed')).toBe(true);
    expect(await store.getAccount('u-ses')).toMatchObject({ name: 'Renamed', handle: 'sessions_1' });

    const now = Date.now();
    const session = (id: string, minute: number, expiresAtMs = now + 3_600_000) => ({
      id,
      createdAt: new Date(now + minute * 60_000).toISOString(),
      expiresAtMs,
      agent: `agent ${id}`,
      verifiedAtMs: now,
      passkeyId: minute % 2 === 0 ? 'cred-even' : 'cred-odd',
    });
    expect(await store.openSession('u-ses', session('s-0', 0), now)).toEqual([]);
    expect(await store.sessionHolder('u-ses', 's-0', now)).toEqual({ name: 'Renamed', verifiedAtMs: now });
    expect(await store.sessionHolder('u-ses', 's-other', now)).toBeUndefined();
    expect(await store.sessionHolder('u-other', 's-0', now)).toBeUndefined();
    // Expired: not a holder, not listed, dropped when the next opens.
    expect(await store.sessionHolder('u-ses', 's-0', now + 3_600_000)).toBeUndefined();
    await store.openSession('u-ses', session('s-old', 1, now + 1_000), now);
    expect((await store.listSessions('u-ses', now + 2_000)).map((s) => s.id)).toEqual(['s-0']);

    for (let i = 1; i < MAX_SESSIONS_PER_ACCOUNT; i++) {
      expect(await store.openSession('u-ses', session(`s-${i}`, i + 1), now + 2_000)).toEqual([]);
    }
    expect(await store.openSession('u-ses', session('s-new', 100), now + 2_000)).toEqual(['s-0']);
    const listed = await store.listSessions('u-ses', now + 2_000);
    expect(listed).toHaveLength(MAX_SESSIONS_PER_ACCOUNT);
    expect(listed[0]).toEqual(session('s-new', 100));
    expect(listed.at(-1)?.id).toBe('s-1');
    expect(await store.sessionHolder('u-ses', 's-0', now)).toBeUndefined();

    expect(await store.closeSession('u-ses', 's-new')).toBe(true);
    expect(await store.closeSession('u-ses', 's-new')).toBe(false);
    expect(await store.sessionHolder('u-ses', 's-new', now)).toBeUndefined();
    expect(await store.sessionHolder('u-ses', 's-1', now)).toEqual({ name: 'Renamed', verifiedAtMs: now });

    // A confirmation is noted on the session; a removed passkey closes the sessions it opened.
    expect(await store.markSessionVerified('u-ses', 's-2', now + 5_000)).toBe(true);
    expect(await store.markSessionVerified('u-ses', 's-gone', now + 5_000)).toBe(false);
    expect((await store.sessionHolder('u-ses', 's-2', now))?.verifiedAtMs).toBe(now + 5_000);
    const closed = await store.closeSessionsOfPasskey('u-ses', 'cred-even');
    expect(closed.length).toBeGreaterThan(0);
    const left = await store.listSessions('u-ses', now + 2_000);
    expect(left.every((s) => s.passkeyId === 'cred-odd')).toBe(true);
    expect(left.find((s) => s.id === 's-2')).toMatchObject({ verifiedAtMs: now + 5_000, expiresAtMs: now + 3_600_000 });
    expect(left.find((s) => s.id === 's-1')).toBeUndefined();
  });

  it('gives a ceremony back once, and not after it expired', async () => {
    ({ store } = make({ ceremonyTtlMs: 300 }));
    const rp = { rpID: 'localhost', origins: ['http://localhost:3000'] };
    const ceremony = {
      kind: 'register' as const,
      challenge: 'c-1',
      userId: 'u-ann',
      name: 'Ann',
      handle: 'ann',
      ...rp,
    };
    await store.saveCeremony('one', ceremony);
    expect(await store.takeCeremony('one')).toEqual(ceremony);
    expect(await store.takeCeremony('one')).toBeUndefined();
    // Saved together, taken one by one until they have expired (each take removes one).
    const ids = Array.from({ length: 100 }, (_, i) => `later-${i}`);
    for (const id of ids) await store.saveCeremony(id, { kind: 'sign-in', challenge: 'c-2', ...rp });
    let next = 0;
    await waitFor('the ceremonies to expire', async () => (await store.takeCeremony(ids[next++] ?? '')) === undefined, {
      timeoutMs: 5_000,
      intervalMs: 20,
    });
    // Some were there at first, and they expired before the test ran out of them.
    expect(next).toBeGreaterThan(1);
    expect(next).toBeLessThanOrEqual(ids.length);
  });
});

const redisDrivers = Object.entries(drivers).filter(([name]) => name !== 'memory');

describe.each(redisDrivers)('RedisAccounts: a sign-up in steps (%s)', (_name, make) => {
  let store: AccountStore;
  let raw: [RedisClient, string];
  beforeEach(() => {
    const made = make();
    if (!made.raw) throw new Error('a Redis driver gives its client and prefix');
    store = made.store;
    raw = made.raw;
  });

  const handles = () => `${raw[1]}:{accounts}:handles`;
  const claims = () => `${raw[1]}:{accounts}:claims`;
  const accountKey = (id: string) => `${raw[1]}:{u:${id}}:account`;
  const stale = () => Date.now() - PENDING_ACCOUNT_GRACE_MS - 60_000;

  it('a handle claimed by a sign-up that stopped before confirming it is held for the grace period, then free', async () => {
    const [redis] = raw;
    await redis.hset(handles(), 'quiet', 'u-gone');
    await redis.hset(claims(), 'quiet', `u-gone a1 ${Date.now()}`);
    expect(await store.createAccount(account('u-new', 'quiet'), passkey('n0'))).toBe('handle-taken');
    expect(await store.accountIdOfHandle('quiet')).toBeUndefined();
    await redis.hset(claims(), 'quiet', `u-gone a1 ${stale()}`);
    expect(await store.createAccount(account('u-new', 'Quiet'), passkey('n0'))).toBe('created');
    expect(await store.accountIdOfHandle('quiet')).toBe('u-new');
    // Confirmed, it is never taken, however old.
    expect(await redis.hexists(claims(), 'quiet')).toBe(0);
    expect(await store.createAccount(account('u-late', 'quiet'), passkey('l0'))).toBe('handle-taken');
  });

  it('one sign-up of an id at a time; one that stopped is finished by the next after the grace period', async () => {
    const [redis] = raw;
    await redis.hset(accountKey('u-slow'), 'state', 'pending', 'attempt', 'a1', 'pendingAt', String(Date.now()));
    expect(await store.createAccount(account('u-slow', 'slow'), passkey('s0'))).toBe('busy');
    expect(await store.getAccount('u-slow')).toBeUndefined();
    await redis.hset(accountKey('u-slow'), 'pendingAt', String(stale()));
    expect(await store.createAccount(account('u-slow', 'slow'), passkey('s0'))).toBe('created');
    // Stopped after confirming its handle, before the account was marked active: the same id
    // signing up again with it finishes (the handle is its own).
    await store.createAccount(account('u-again', 'again'), passkey('a0'));
    await redis.hset(accountKey('u-again'), 'state', 'pending', 'pendingAt', String(stale()));
    expect(await store.getAccount('u-again')).toBeUndefined();
    expect(await store.createAccount(account('u-again', 'again'), passkey('a0'))).toBe('created');
    expect(await store.findPasskey('a0')).toMatchObject({ userId: 'u-again' });
  });
});
