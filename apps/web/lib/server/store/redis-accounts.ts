import type { RedisClient } from '@ovation/shared/redis';
import {
  type Account,
  AccountSchema,
  type AccountStore,
  type AccountStoreOptions,
  type AddPasskeyOutcome,
  byCreation,
  CEREMONY_TTL_MS,
  type Ceremony,
  CeremonySchema,
  type CreateAccountOutcome,
  handleKey,
  MAX_PASSKEYS_PER_ACCOUNT,
  type Passkey,
  PasskeySchema,
  PENDING_ACCOUNT_GRACE_MS,
  type RemovePasskeyOutcome,
} from './accounts';

/*
 * Redis layout of accounts (under `prefix` <p>; braces are hash tags, as in redis-store.ts):
 *
 *   an account, {u:<id>} (the user's tag, beside their videos):
 *     <p>:{u:<id>}:account       HASH  name, handle, createdAt, state (pending | active)
 *     <p>:{u:<id>}:passkeys      HASH  credential id -> passkey JSON (without counter and last use)
 *     <p>:{u:<id>}:passkey-use   HASH  credential id -> "<counter> <last used ISO time>"
 *   the indexes, {accounts} (one slot: small hashes):
 *     <p>:{accounts}:handles     HASH  handleKey -> account id
 *     <p>:{accounts}:credentials HASH  credential id -> account id
 *   <p>:ceremony:<id>            STRING ceremony JSON (TTL: CEREMONY_TTL_MS), taken with GETDEL
 *
 * Reading an account (every signed-in request, later) touches only its own tag. A sign-up spans
 * both tags, so it is done in steps, each on one tag:
 *   1. the account, `pending`, and its first passkey (refused if the id is an active account)
 *   2. the handle and the credential claimed together in {accounts} (atomic, on a cluster too)
 *   3. the account marked `active`
 * A pending account is no account (getAccount says none). A sign-up refused at step 2 removes its
 * pending account. One that stopped after step 2 holds its handle until PENDING_ACCOUNT_GRACE_MS
 * past its creation; then a claim of that handle releases it (as it does a handle whose account
 * is gone, or holds another handle now). Every value read back is validated.
 */

// KEYS: account, passkeys, passkey-use. ARGV: credential id, passkey JSON, its counter, then the
// account's field/value pairs. 0: an active account already; 1: written, pending.
const BEGIN_ACCOUNT = `
if redis.call('HGET', KEYS[1], 'state') == 'active' then return 0 end
redis.call('DEL', KEYS[1], KEYS[2], KEYS[3])
redis.call('HSET', KEYS[1], 'state', 'pending', unpack(ARGV, 4))
redis.call('HSET', KEYS[2], ARGV[1], ARGV[2])
redis.call('HSET', KEYS[3], ARGV[1], ARGV[3])
return 1`;

// KEYS: handles, credentials. ARGV: handle key ('' none), credential id ('' none), account id.
// {1}: claimed (or already this account's). {0, owner}: the handle is owner's. {-1, owner}: the
// credential is owner's.
const CLAIM = `
if ARGV[1] ~= '' then
  local owner = redis.call('HGET', KEYS[1], ARGV[1])
  if owner and owner ~= ARGV[3] then return {0, owner} end
end
if ARGV[2] ~= '' then
  local holder = redis.call('HGET', KEYS[2], ARGV[2])
  if holder and holder ~= ARGV[3] then return {-1, holder} end
end
if ARGV[1] ~= '' then redis.call('HSET', KEYS[1], ARGV[1], ARGV[3]) end
if ARGV[2] ~= '' then redis.call('HSET', KEYS[2], ARGV[2], ARGV[3]) end
return {1}`;

// KEYS: an index hash. ARGV: field, the account id it must still name. Removes it if it does.
const RELEASE = `
if redis.call('HGET', KEYS[1], ARGV[1]) == ARGV[2] then redis.call('HDEL', KEYS[1], ARGV[1]) end
return 1`;

// KEYS: account, passkeys, passkey-use. Removes a pending account (a sign-up refused at its claim).
const DROP_PENDING = `
if redis.call('HGET', KEYS[1], 'state') == 'pending' then redis.call('DEL', KEYS[1], KEYS[2], KEYS[3]) end
return 1`;

// KEYS: account, passkeys, passkey-use. ARGV: credential id, passkey JSON, its counter, the most.
// 'no-account', 'full' or 'added'.
const ADD_PASSKEY = `
if redis.call('HGET', KEYS[1], 'state') ~= 'active' then return 'no-account' end
if redis.call('HEXISTS', KEYS[2], ARGV[1]) == 0 and redis.call('HLEN', KEYS[2]) >= tonumber(ARGV[4]) then return 'full' end
redis.call('HSET', KEYS[2], ARGV[1], ARGV[2])
redis.call('HSET', KEYS[3], ARGV[1], ARGV[3])
return 'added'`;

// KEYS: passkeys, passkey-use. ARGV: credential id. 'missing', 'last' or 'removed'.
const REMOVE_PASSKEY = `
if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 0 then return 'missing' end
if redis.call('HLEN', KEYS[1]) == 1 then return 'last' end
redis.call('HDEL', KEYS[1], ARGV[1])
redis.call('HDEL', KEYS[2], ARGV[1])
return 'removed'`;

// KEYS: passkeys, passkey-use. ARGV: credential id, counter, time. Keeps the larger counter.
const NOTE_USE = `
if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 0 then return 0 end
local was = redis.call('HGET', KEYS[2], ARGV[1])
local counter = tonumber(ARGV[2])
if was then counter = math.max(counter, tonumber(string.match(was, '^(%d+)')) or 0) end
redis.call('HSET', KEYS[2], ARGV[1], string.format('%d %s', counter, ARGV[3]))
return 1`;

const SCRIPTS = {
  ovationAccountBegin: BEGIN_ACCOUNT,
  ovationAccountClaim: CLAIM,
  ovationAccountRelease: RELEASE,
  ovationAccountDropPending: DROP_PENDING,
  ovationAccountAddPasskey: ADD_PASSKEY,
  ovationAccountRemovePasskey: REMOVE_PASSKEY,
  ovationAccountNoteUse: NOTE_USE,
};

type Scripts = {
  [K in keyof typeof SCRIPTS]: (numKeys: number, ...args: string[]) => Promise<unknown>;
};

/** A passkey as stored in its hash: the fields that never change after registration. */
const StoredPasskeySchema = PasskeySchema.omit({ counter: true, lastUsedAt: true });

export class RedisAccounts implements AccountStore {
  private readonly redis: RedisClient & Scripts;
  private readonly ceremonyTtlMs: number;

  constructor(
    redis: RedisClient,
    private readonly prefix: string,
    options: AccountStoreOptions = {},
  ) {
    if (!('ovationAccountClaim' in redis)) {
      for (const [name, lua] of Object.entries(SCRIPTS)) redis.defineCommand(name, { lua });
    }
    this.redis = redis as RedisClient & Scripts;
    this.ceremonyTtlMs = options.ceremonyTtlMs ?? CEREMONY_TTL_MS;
  }

  private accountKey = (id: string) => `${this.prefix}:{u:${id}}:account`;
  private passkeysKey = (id: string) => `${this.prefix}:{u:${id}}:passkeys`;
  private passkeyUseKey = (id: string) => `${this.prefix}:{u:${id}}:passkey-use`;
  private handlesKey = () => `${this.prefix}:{accounts}:handles`;
  private credentialsKey = () => `${this.prefix}:{accounts}:credentials`;
  private ceremonyKey = (id: string) => `${this.prefix}:ceremony:${id}`;

  async createAccount(account: Account, passkey: Passkey): Promise<CreateAccountOutcome> {
    const { id } = account;
    const keys = [this.accountKey(id), this.passkeysKey(id), this.passkeyUseKey(id)];
    const begun = await this.redis.ovationAccountBegin(
      3,
      ...keys,
      passkey.id,
      storedPasskey(passkey),
      String(passkey.counter),
      ...['name', account.name, 'handle', account.handle, 'createdAt', account.createdAt],
    );
    if (Number(begun) === 0) return 'exists';
    const claimed = await this.claim(handleKey(account.handle), passkey.id, id);
    if (claimed !== 'claimed') {
      await this.redis.ovationAccountDropPending(3, ...keys);
      return claimed;
    }
    await this.redis.hset(this.accountKey(id), 'state', 'active');
    return 'created';
  }

  /** Step 2 of a sign-up: the handle and the credential, releasing a stale claim of the handle once. */
  private async claim(
    handle: string,
    credentialId: string,
    id: string,
  ): Promise<'claimed' | 'handle-taken' | 'passkey-taken'> {
    for (let attempt = 0; attempt < 2; attempt++) {
      const [flag, owner] = (await this.redis.ovationAccountClaim(
        2,
        this.handlesKey(),
        this.credentialsKey(),
        handle,
        credentialId,
        id,
      )) as [number, string?];
      if (Number(flag) === 1) return 'claimed';
      if (Number(flag) === -1) return 'passkey-taken';
      if (attempt > 0 || owner === undefined || !(await this.staleClaim(owner, handle))) return 'handle-taken';
      await this.redis.ovationAccountRelease(1, this.handlesKey(), handle, owner);
    }
    return 'handle-taken';
  }

  /** Whether `owner`'s claim of `handle` is stale: no such account, another handle, or a sign-up abandoned. */
  private async staleClaim(owner: string, handle: string): Promise<boolean> {
    const stored = await this.redis.hgetall(this.accountKey(owner));
    if (stored.handle === undefined || handleKey(stored.handle) !== handle) return true;
    if (stored.state === 'active') return false;
    const created = Date.parse(stored.createdAt ?? '');
    return !Number.isFinite(created) || Date.now() - created > PENDING_ACCOUNT_GRACE_MS;
  }

  async getAccount(id: string): Promise<Account | undefined> {
    const stored = await this.redis.hgetall(this.accountKey(id));
    if (stored.state !== 'active') return undefined;
    const parsed = AccountSchema.safeParse({
      id,
      name: stored.name,
      handle: stored.handle,
      createdAt: stored.createdAt,
    });
    if (!parsed.success) throw new Error(`account ${id}: its stored hash is unreadable`);
    return parsed.data;
  }

  async accountIdOfHandle(handle: string): Promise<string | undefined> {
    const id = await this.redis.hget(this.handlesKey(), handleKey(handle));
    if (id === null) return undefined;
    // A claim whose sign-up never finished, or an old handle, names no account.
    const account = await this.getAccount(id);
    return account && handleKey(account.handle) === handleKey(handle) ? id : undefined;
  }

  async findPasskey(credentialId: string) {
    const userId = await this.redis.hget(this.credentialsKey(), credentialId);
    if (userId === null || !(await this.getAccount(userId))) return undefined;
    const passkey = await this.passkeyOf(userId, credentialId);
    return passkey ? { userId, passkey } : undefined;
  }

  async listPasskeys(userId: string): Promise<Passkey[]> {
    const [stored, use] = await Promise.all([
      this.redis.hgetall(this.passkeysKey(userId)),
      this.redis.hgetall(this.passkeyUseKey(userId)),
    ]);
    return Object.entries(stored)
      .map(([id, json]) => withUse(userId, id, json, use[id]))
      .sort(byCreation);
  }

  async addPasskey(userId: string, passkey: Passkey): Promise<AddPasskeyOutcome> {
    // The credential first: one that is someone else's is refused before anything is written.
    const [flag] = (await this.redis.ovationAccountClaim(
      2,
      this.handlesKey(),
      this.credentialsKey(),
      '',
      passkey.id,
      userId,
    )) as [number];
    if (Number(flag) !== 1) return 'taken';
    const outcome = (await this.redis.ovationAccountAddPasskey(
      3,
      this.accountKey(userId),
      this.passkeysKey(userId),
      this.passkeyUseKey(userId),
      passkey.id,
      storedPasskey(passkey),
      String(passkey.counter),
      String(MAX_PASSKEYS_PER_ACCOUNT),
    )) as AddPasskeyOutcome;
    if (outcome !== 'added') await this.redis.ovationAccountRelease(1, this.credentialsKey(), passkey.id, userId);
    return outcome;
  }

  async removePasskey(userId: string, credentialId: string): Promise<RemovePasskeyOutcome> {
    // From the account first (a sign-in needs both), then the index.
    const outcome = (await this.redis.ovationAccountRemovePasskey(
      2,
      this.passkeysKey(userId),
      this.passkeyUseKey(userId),
      credentialId,
    )) as RemovePasskeyOutcome;
    if (outcome === 'removed') await this.redis.ovationAccountRelease(1, this.credentialsKey(), credentialId, userId);
    return outcome;
  }

  async notePasskeyUse(userId: string, credentialId: string, counter: number, at: string): Promise<boolean> {
    const noted = await this.redis.ovationAccountNoteUse(
      2,
      this.passkeysKey(userId),
      this.passkeyUseKey(userId),
      credentialId,
      String(Math.max(0, Math.floor(counter))),
      at,
    );
    return Number(noted) === 1;
  }

  async saveCeremony(id: string, ceremony: Ceremony): Promise<void> {
    await this.redis.set(this.ceremonyKey(id), JSON.stringify(ceremony), 'PX', this.ceremonyTtlMs);
  }

  async takeCeremony(id: string): Promise<Ceremony | undefined> {
    const json = await this.redis.getdel(this.ceremonyKey(id));
    const parsed = json === null ? undefined : CeremonySchema.safeParse(parseJson(json));
    return parsed?.success ? parsed.data : undefined;
  }

  private async passkeyOf(userId: string, credentialId: string): Promise<Passkey | undefined> {
    const [json, use] = await Promise.all([
      this.redis.hget(this.passkeysKey(userId), credentialId),
      this.redis.hget(this.passkeyUseKey(userId), credentialId),
    ]);
    return json === null ? undefined : withUse(userId, credentialId, json, use ?? undefined);
  }
}

/** The passkey's fixed fields as stored (the counter and last use are kept apart: NOTE_USE). */
function storedPasskey(passkey: Passkey): string {
  const { counter: _counter, lastUsedAt: _lastUsedAt, ...fixed } = passkey;
  return JSON.stringify(fixed);
}

/** A stored passkey with its use ("<counter>[ <last used>]"), validated. */
function withUse(userId: string, id: string, json: string, use: string | undefined): Passkey {
  const fixed = StoredPasskeySchema.safeParse(parseJson(json));
  if (!fixed.success || fixed.data.id !== id) throw new Error(`account ${userId}: passkey ${id} is unreadable`);
  const [counter, at] = (use ?? '0').split(' ');
  return { ...fixed.data, counter: Number(counter) || 0, ...(at ? { lastUsedAt: at } : {}) };
}

/** JSON.parse, with undefined for what is not JSON (the schema then refuses it). */
function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
