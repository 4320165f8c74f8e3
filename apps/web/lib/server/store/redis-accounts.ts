import { randomTag } from '@ovation/shared';
import type { RedisClient } from '@ovation/shared/redis';
import {
  type Account,
  AccountSchema,
  type AccountSession,
  AccountSessionSchema,
  type AccountStore,
  type AccountStoreOptions,
  type AddPasskeyOutcome,
  asCounter,
  byCreation,
  CEREMONY_TTL_MS,
  type Ceremony,
  CeremonySchema,
  type CreateAccountOutcome,
  handleKey,
  MAX_PASSKEYS_PER_ACCOUNT,
  MAX_SESSIONS_PER_ACCOUNT,
  newestFirst,
  type Passkey,
  PasskeySchema,
  PENDING_ACCOUNT_GRACE_MS,
  parseJson,
  type RemovePasskeyOutcome,
  type SessionHolder,
} from './accounts';

/*
 * Redis layout of accounts (under `prefix` <p>; braces are hash tags, as in redis-store.ts):
 *
 *   an account, {u:<id>} (the user's tag, beside their videos):
 *     <p>:{u:<id>}:account        HASH  name, handle, createdAt, state (pending | active),
 *                                       attempt (the sign-up's nonce), pendingAt (ms, Redis clock)
 *     <p>:{u:<id>}:passkeys       HASH  credential id -> passkey JSON (without counter and last use)
 *     <p>:{u:<id>}:passkey-use    HASH  credential id -> "<counter>[ <last used ISO time>]"
 *     <p>:{u:<id>}:sessions       HASH  session id -> session JSON (expires with its last session)
 *   the indexes, {accounts} (one slot: small hashes):
 *     <p>:{accounts}:handles      HASH  handleKey -> account id
 *     <p>:{accounts}:claims       HASH  handleKey -> "<id> <attempt> <ms>": a claim not confirmed yet
 *     <p>:{accounts}:credentials  HASH  credential id -> account id
 *   <p>:ceremony:<id>             STRING ceremony JSON (TTL: CEREMONY_TTL_MS), taken with GETDEL
 *
 * Reading an account (every signed-in request, later) touches only its own tag. A sign-up spans
 * both tags, so it is done in steps, each one script on one tag:
 *   1. BEGIN    the account, `pending` under a fresh attempt nonce, with its first passkey —
 *               refused for an active account, and while another sign-up of the id is under way
 *               (pending for less than PENDING_ACCOUNT_GRACE_MS): one sign-up of an id at a time
 *   2. CLAIM    the handle (unconfirmed) and the credential, together, in {accounts}
 *   3. CONFIRM  the claim, if it is still this attempt's
 *   4. ACTIVATE the account, if it is still this attempt's
 * {accounts} alone decides who holds a handle: a claim left unconfirmed past the grace period (a
 * sign-up that stopped) may be taken by another claim, in the same script, on Redis's own clock;
 * a confirmed claim is never taken. A pending account is no account (getAccount says none). A
 * sign-up refused at a step removes what it wrote. One that stops between CONFIRM and ACTIVATE
 * leaves its handle held with no account: the same id signing up again with it finishes.
 * Every value read back is validated.
 */

// KEYS: account, passkeys, passkey-use. ARGV: attempt, grace ms, credential id, passkey JSON, its
// counter, then the account's field/value pairs. 0: an active account; -1: a sign-up of this id
// under way; 1: written, pending.
const BEGIN_ACCOUNT = `
local state = redis.call('HGET', KEYS[1], 'state')
if state == 'active' then return 0 end
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000)
local since = tonumber(redis.call('HGET', KEYS[1], 'pendingAt') or '')
if state == 'pending' and since and now - since < tonumber(ARGV[2]) then return -1 end
redis.call('DEL', KEYS[1], KEYS[2], KEYS[3])
redis.call('HSET', KEYS[1], 'state', 'pending', 'attempt', ARGV[1], 'pendingAt', string.format('%d', now), unpack(ARGV, 6))
redis.call('HSET', KEYS[2], ARGV[3], ARGV[4])
redis.call('HSET', KEYS[3], ARGV[3], ARGV[5])
return 1`;

// KEYS: handles, claims, credentials. ARGV: handle key, credential id, account id, attempt, grace
// ms. {1}: claimed. {0}: the handle is another's. {-1}: the credential is another's.
const CLAIM = `
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000)
local owner = redis.call('HGET', KEYS[1], ARGV[1])
if owner and owner ~= ARGV[3] then
  local claim = redis.call('HGET', KEYS[2], ARGV[1])
  local at = claim and tonumber(string.match(claim, '(%d+)$'))
  if not (at and now - at > tonumber(ARGV[5])) then return {0} end
end
local holder = redis.call('HGET', KEYS[3], ARGV[2])
if holder and holder ~= ARGV[3] then return {-1} end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[3])
redis.call('HSET', KEYS[2], ARGV[1], ARGV[3] .. ' ' .. ARGV[4] .. ' ' .. string.format('%d', now))
redis.call('HSET', KEYS[3], ARGV[2], ARGV[3])
return {1}`;

// KEYS: credentials. ARGV: credential id, account id. 1: claimed (or this account's already); 0: another's.
const CLAIM_CREDENTIAL = `
local holder = redis.call('HGET', KEYS[1], ARGV[1])
if holder and holder ~= ARGV[2] then return 0 end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
return 1`;

// KEYS: handles, claims. ARGV: handle key, account id, attempt. 1: confirmed; 0: no longer this attempt's.
const CONFIRM = `
if redis.call('HGET', KEYS[1], ARGV[1]) ~= ARGV[2] then return 0 end
local claim = redis.call('HGET', KEYS[2], ARGV[1])
local mine = ARGV[2] .. ' ' .. ARGV[3] .. ' '
if not claim or string.sub(claim, 1, #mine) ~= mine then return 0 end
redis.call('HDEL', KEYS[2], ARGV[1])
return 1`;

// KEYS: account. ARGV: attempt. 1: active; 0: not this attempt's.
const ACTIVATE = `
if redis.call('HGET', KEYS[1], 'state') ~= 'pending' or redis.call('HGET', KEYS[1], 'attempt') ~= ARGV[1] then return 0 end
redis.call('HSET', KEYS[1], 'state', 'active')
return 1`;

// KEYS: an index hash. ARGV: field, the account id it must still name. Removes it if it does.
const RELEASE = `
if redis.call('HGET', KEYS[1], ARGV[1]) == ARGV[2] then redis.call('HDEL', KEYS[1], ARGV[1]) end
return 1`;

// KEYS: account, passkeys, passkey-use. ARGV: attempt. Removes the attempt's pending account.
const DROP_PENDING = `
if redis.call('HGET', KEYS[1], 'state') == 'pending' and redis.call('HGET', KEYS[1], 'attempt') == ARGV[1] then
  redis.call('DEL', KEYS[1], KEYS[2], KEYS[3])
end
return 1`;

// KEYS: account, passkeys, passkey-use. ARGV: credential id, passkey JSON, its counter, the most.
// 'no-account', 'exists' (this account's already: its counter is kept), 'full' or 'added'.
const ADD_PASSKEY = `
if redis.call('HGET', KEYS[1], 'state') ~= 'active' then return 'no-account' end
if redis.call('HEXISTS', KEYS[2], ARGV[1]) == 1 then return 'exists' end
if redis.call('HLEN', KEYS[2]) >= tonumber(ARGV[4]) then return 'full' end
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

// KEYS: passkeys, passkey-use. ARGV: credential id, counter, time. 1: noted; 0: the passkey is
// gone, or the counter did not go up (both 0 is allowed: synced passkeys keep none).
const NOTE_USE = `
if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 0 then return 0 end
local was = redis.call('HGET', KEYS[2], ARGV[1])
local stored = was and tonumber(string.match(was, '^(%d+)')) or 0
local counter = tonumber(ARGV[2])
if not ((stored == 0 and counter == 0) or counter > stored) then return 0 end
redis.call('HSET', KEYS[2], ARGV[1], string.format('%d %s', counter, ARGV[3]))
return 1`;

// KEYS: sessions. ARGV: session id, time (ms). Sets the session's verifiedAtMs: 1; 0 when not open.
const MARK_VERIFIED = `
local json = redis.call('HGET', KEYS[1], ARGV[1])
if not json then return 0 end
local ok, session = pcall(cjson.decode, json)
if not ok or type(session) ~= 'table' then return 0 end
session.verifiedAtMs = tonumber(ARGV[2])
redis.call('HSET', KEYS[1], ARGV[1], cjson.encode(session))
return 1`;

// KEYS: sessions. ARGV: passkey id. Closes the sessions signed in with it; their ids.
const CLOSE_OF_PASSKEY = `
local closed = {}
local all = redis.call('HGETALL', KEYS[1])
for i = 1, #all, 2 do
  local ok, session = pcall(cjson.decode, all[i + 1])
  if ok and type(session) == 'table' and session.passkeyId == ARGV[1] then
    redis.call('HDEL', KEYS[1], all[i])
    table.insert(closed, all[i])
  end
end
return closed`;

// KEYS: sessions. ARGV: session id, its JSON, now (ms), the most. Drops expired sessions, adds
// this one, closes the oldest past the most; the ids closed for room. The hash expires with its
// last session.
const OPEN_SESSION = `
local now = tonumber(ARGV[3])
local open = {}
local all = redis.call('HGETALL', KEYS[1])
for i = 1, #all, 2 do
  local ok, session = pcall(cjson.decode, all[i + 1])
  if ok and type(session) == 'table' and tonumber(session.expiresAtMs) and tonumber(session.expiresAtMs) > now then
    if all[i] ~= ARGV[1] then table.insert(open, { id = all[i], createdAt = tostring(session.createdAt), expires = tonumber(session.expiresAtMs) }) end
  else
    redis.call('HDEL', KEYS[1], all[i])
  end
end
local mine = cjson.decode(ARGV[2])
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
table.sort(open, function(a, b) if a.createdAt == b.createdAt then return a.id < b.id end return a.createdAt > b.createdAt end)
local closed = {}
local last = tonumber(mine.expiresAtMs)
for i, session in ipairs(open) do
  if i >= tonumber(ARGV[4]) then
    redis.call('HDEL', KEYS[1], session.id)
    table.insert(closed, session.id)
  elseif session.expires > last then
    last = session.expires
  end
end
redis.call('PEXPIREAT', KEYS[1], string.format('%d', last))
return closed`;

// KEYS: account. ARGV: name. 1: renamed; 0: no active account.
const RENAME = `
if redis.call('HGET', KEYS[1], 'state') ~= 'active' then return 0 end
redis.call('HSET', KEYS[1], 'name', ARGV[1])
return 1`;

const SCRIPTS = {
  ovationAccountRename: RENAME,
  ovationAccountOpenSession: OPEN_SESSION,
  ovationAccountMarkVerified: MARK_VERIFIED,
  ovationAccountCloseOfPasskey: CLOSE_OF_PASSKEY,
  ovationAccountBegin: BEGIN_ACCOUNT,
  ovationAccountClaim: CLAIM,
  ovationAccountClaimCredential: CLAIM_CREDENTIAL,
  ovationAccountConfirm: CONFIRM,
  ovationAccountActivate: ACTIVATE,
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
  private sessionsKey = (id: string) => `${this.prefix}:{u:${id}}:sessions`;
  private handlesKey = () => `${this.prefix}:{accounts}:handles`;
  private claimsKey = () => `${this.prefix}:{accounts}:claims`;
  private credentialsKey = () => `${this.prefix}:{accounts}:credentials`;
  private ceremonyKey = (id: string) => `${this.prefix}:ceremony:${id}`;

  async createAccount(account: Account, passkey: Passkey): Promise<CreateAccountOutcome> {
    const { id } = account;
    const attempt = randomTag(12);
    const grace = String(PENDING_ACCOUNT_GRACE_MS);
    const handle = handleKey(account.handle);
    const keys = [this.accountKey(id), this.passkeysKey(id), this.passkeyUseKey(id)];
    const fields = ['name', account.name, 'handle', account.handle, 'createdAt', account.createdAt];
    const begun = Number(
      await this.redis.ovationAccountBegin(
        3,
        ...keys,
        attempt,
        grace,
        passkey.id,
        storedPasskey(passkey),
        String(passkey.counter),
        ...fields,
      ),
    );
    if (begun === 0) return 'exists';
    if (begun === -1) return 'busy';
    const indexes = [this.handlesKey(), this.claimsKey(), this.credentialsKey()];
    const [claimed] = (await this.redis.ovationAccountClaim(3, ...indexes, handle, passkey.id, id, attempt, grace)) as [
      number,
    ];
    const confirmed =
      Number(claimed) === 1 &&
      Number(await this.redis.ovationAccountConfirm(2, this.handlesKey(), this.claimsKey(), handle, id, attempt)) === 1;
    if (!confirmed) {
      await this.redis.ovationAccountDropPending(3, ...keys, attempt);
      if (Number(claimed) === 1) await this.redis.ovationAccountRelease(1, this.credentialsKey(), passkey.id, id);
      return Number(claimed) === -1 ? 'passkey-taken' : 'handle-taken';
    }
    // Not this attempt's any more only if it stopped for longer than the grace period and another
    // sign-up of the id began: that one finishes (its handle claimed in its own steps).
    return Number(await this.redis.ovationAccountActivate(1, this.accountKey(id), attempt)) === 1 ? 'created' : 'busy';
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
    const [state, stored, use] = await Promise.all([
      this.redis.hget(this.accountKey(userId), 'state'),
      this.redis.hgetall(this.passkeysKey(userId)),
      this.redis.hgetall(this.passkeyUseKey(userId)),
    ]);
    if (state !== 'active') return [];
    // An unreadable one is left out (the others still let the user in).
    return Object.entries(stored)
      .flatMap(([id, json]) => withUse(id, json, use[id]) ?? [])
      .sort(byCreation);
  }

  async addPasskey(userId: string, passkey: Passkey): Promise<AddPasskeyOutcome> {
    // The credential first: one that is someone else's is refused before anything is written.
    const claimed = await this.redis.ovationAccountClaimCredential(1, this.credentialsKey(), passkey.id, userId);
    if (Number(claimed) !== 1) return 'taken';
    const outcome = (await this.redis.ovationAccountAddPasskey(
      3,
      this.accountKey(userId),
      this.passkeysKey(userId),
      this.passkeyUseKey(userId),
      passkey.id,
      storedPasskey(passkey),
      String(passkey.counter),
      String(MAX_PASSKEYS_PER_ACCOUNT),
    )) as AddPasskeyOutcome | 'exists';
    // Already this account's: the claim was its own, and the passkey (and its counter) stay as they are.
    if (outcome === 'exists') return 'taken';
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
      String(asCounter(counter)),
      at,
    );
    return Number(noted) === 1;
  }

  async renameAccount(userId: string, name: string): Promise<boolean> {
    // HSET only where the account is active: a rename never makes a half-made account readable.
    const renamed = await this.redis.ovationAccountRename(1, this.accountKey(userId), name);
    return Number(renamed) === 1;
  }

  async openSession(userId: string, session: AccountSession, nowMs: number): Promise<string[]> {
    const closed = await this.redis.ovationAccountOpenSession(
      1,
      this.sessionsKey(userId),
      session.id,
      JSON.stringify(session),
      String(nowMs),
      String(MAX_SESSIONS_PER_ACCOUNT),
    );
    return Array.isArray(closed) ? closed.map(String) : [];
  }

  async sessionHolder(userId: string, sessionId: string, nowMs: number): Promise<SessionHolder | undefined> {
    const [json, [state, name]] = await Promise.all([
      this.redis.hget(this.sessionsKey(userId), sessionId),
      this.redis.hmget(this.accountKey(userId), 'state', 'name'),
    ]);
    if (json === null || state !== 'active' || !name) return undefined;
    const session = AccountSessionSchema.safeParse(parseJson(json));
    return session.success && session.data.expiresAtMs > nowMs
      ? { name, verifiedAtMs: session.data.verifiedAtMs }
      : undefined;
  }

  async markSessionVerified(userId: string, sessionId: string, atMs: number): Promise<boolean> {
    return (
      Number(await this.redis.ovationAccountMarkVerified(1, this.sessionsKey(userId), sessionId, String(atMs))) === 1
    );
  }

  async closeSessionsOfPasskey(userId: string, passkeyId: string): Promise<string[]> {
    const closed = await this.redis.ovationAccountCloseOfPasskey(1, this.sessionsKey(userId), passkeyId);
    return Array.isArray(closed) ? closed.map(String) : [];
  }

  async listSessions(userId: string, nowMs: number): Promise<AccountSession[]> {
    const stored = await this.redis.hgetall(this.sessionsKey(userId));
    return Object.entries(stored)
      .flatMap(([id, json]) => {
        const session = AccountSessionSchema.safeParse(parseJson(json));
        return session.success && session.data.id === id && session.data.expiresAtMs > nowMs ? [session.data] : [];
      })
      .sort(newestFirst);
  }

  async closeSession(userId: string, sessionId: string): Promise<boolean> {
    return (await this.redis.hdel(this.sessionsKey(userId), sessionId)) === 1;
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
    return json === null ? undefined : withUse(credentialId, json, use ?? undefined);
  }
}

/** The passkey's fixed fields as stored (the counter and last use are kept apart: NOTE_USE). */
function storedPasskey(passkey: Passkey): string {
  const { counter: _counter, lastUsedAt: _lastUsedAt, ...fixed } = passkey;
  return JSON.stringify(fixed);
}

/** A stored passkey with its use ("<counter>[ <last used>]"), validated; undefined when unreadable. */
function withUse(id: string, json: string, use: string | undefined): Passkey | undefined {
  const fixed = StoredPasskeySchema.safeParse(parseJson(json));
  if (!fixed.success || fixed.data.id !== id) return undefined;
  const [counter, at] = (use ?? '0').split(' ');
  const passkey = PasskeySchema.safeParse({
    ...fixed.data,
    counter: Number(counter),
    ...(at ? { lastUsedAt: at } : {}),
  });
  return passkey.success ? passkey.data : undefined;
}
