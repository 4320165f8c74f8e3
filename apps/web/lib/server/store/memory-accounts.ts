import {
  type Account,
  type AccountSession,
  type AccountStore,
  type AccountStoreOptions,
  type AddPasskeyOutcome,
  asCounter,
  byCreation,
  CEREMONY_TTL_MS,
  type Ceremony,
  type CreateAccountOutcome,
  counterAdvances,
  handleKey,
  MAX_PASSKEYS_PER_ACCOUNT,
  MAX_SESSIONS_PER_ACCOUNT,
  newestFirst,
  type Passkey,
  type RemovePasskeyOutcome,
} from './accounts';
import { ExpiringMap } from './expiring-map';

/**
 * Accounts in this process (the embedded default, one web process). Every method runs without
 * awaiting anything, so each is atomic like the Redis driver's steps taken together.
 */
export class MemoryAccounts implements AccountStore {
  private readonly accounts = new Map<string, Account>();
  /** handleKey → account id. */
  private readonly handles = new Map<string, string>();
  /** credential id → account id. */
  private readonly credentials = new Map<string, string>();
  private readonly passkeys = new Map<string, Map<string, Passkey>>();
  /** account id → session id → session. */
  private readonly sessions = new Map<string, Map<string, AccountSession>>();
  private readonly ceremonies: ExpiringMap<Ceremony>;

  constructor(options: AccountStoreOptions = {}) {
    this.ceremonies = new ExpiringMap(options.ceremonyTtlMs ?? CEREMONY_TTL_MS);
  }

  async createAccount(account: Account, passkey: Passkey): Promise<CreateAccountOutcome> {
    if (this.accounts.has(account.id)) return 'exists';
    const owner = this.handles.get(handleKey(account.handle));
    if (owner !== undefined && owner !== account.id) return 'handle-taken';
    const holder = this.credentials.get(passkey.id);
    if (holder !== undefined && holder !== account.id) return 'passkey-taken';
    this.accounts.set(account.id, { ...account });
    this.handles.set(handleKey(account.handle), account.id);
    this.credentials.set(passkey.id, account.id);
    this.passkeys.set(account.id, new Map([[passkey.id, { ...passkey }]]));
    return 'created';
  }

  async getAccount(id: string) {
    const account = this.accounts.get(id);
    return account ? { ...account } : undefined;
  }

  async accountIdOfHandle(handle: string) {
    return this.handles.get(handleKey(handle));
  }

  async findPasskey(credentialId: string) {
    const userId = this.credentials.get(credentialId);
    const passkey = userId === undefined ? undefined : this.passkeys.get(userId)?.get(credentialId);
    return userId !== undefined && passkey ? { userId, passkey: { ...passkey } } : undefined;
  }

  async listPasskeys(userId: string) {
    return [...(this.passkeys.get(userId)?.values() ?? [])].map((p) => ({ ...p })).sort(byCreation);
  }

  async addPasskey(userId: string, passkey: Passkey): Promise<AddPasskeyOutcome> {
    if (this.credentials.has(passkey.id)) return 'taken';
    const own = this.passkeys.get(userId);
    if (!own || !this.accounts.has(userId)) return 'no-account';
    if (own.size >= MAX_PASSKEYS_PER_ACCOUNT) return 'full';
    this.credentials.set(passkey.id, userId);
    own.set(passkey.id, { ...passkey });
    return 'added';
  }

  async removePasskey(userId: string, credentialId: string): Promise<RemovePasskeyOutcome> {
    const own = this.passkeys.get(userId);
    if (!own?.has(credentialId)) return 'missing';
    if (own.size === 1) return 'last';
    own.delete(credentialId);
    this.credentials.delete(credentialId);
    return 'removed';
  }

  async notePasskeyUse(userId: string, credentialId: string, counter: number, at: string) {
    const passkey = this.passkeys.get(userId)?.get(credentialId);
    if (!passkey || !counterAdvances(passkey.counter, asCounter(counter))) return false;
    passkey.counter = asCounter(counter);
    passkey.lastUsedAt = at;
    return true;
  }

  async renameAccount(userId: string, name: string) {
    const account = this.accounts.get(userId);
    if (account) account.name = name;
    return account !== undefined;
  }

  async openSession(userId: string, session: AccountSession, nowMs: number) {
    const open = this.liveSessions(userId, nowMs);
    open.set(session.id, { ...session });
    const closed = [...open.values()]
      .sort(newestFirst)
      .slice(MAX_SESSIONS_PER_ACCOUNT)
      .map((old) => old.id);
    for (const id of closed) open.delete(id);
    this.sessions.set(userId, open);
    return closed;
  }

  async sessionHolder(userId: string, sessionId: string, nowMs: number) {
    const session = this.sessions.get(userId)?.get(sessionId);
    const account = this.accounts.get(userId);
    return session && account && session.expiresAtMs > nowMs
      ? { name: account.name, verifiedAtMs: session.verifiedAtMs }
      : undefined;
  }

  async markSessionVerified(userId: string, sessionId: string, atMs: number) {
    const session = this.sessions.get(userId)?.get(sessionId);
    if (session) session.verifiedAtMs = atMs;
    return session !== undefined;
  }

  async closeSessionsOfPasskey(userId: string, passkeyId: string) {
    const open = this.sessions.get(userId) ?? new Map<string, AccountSession>();
    const closed = [...open.values()].filter((s) => s.passkeyId === passkeyId).map((s) => s.id);
    for (const id of closed) open.delete(id);
    return closed;
  }

  async listSessions(userId: string, nowMs: number) {
    return [...this.liveSessions(userId, nowMs).values()].map((s) => ({ ...s })).sort(newestFirst);
  }

  async closeSession(userId: string, sessionId: string) {
    return this.sessions.get(userId)?.delete(sessionId) ?? false;
  }

  /** The account's sessions not expired at `nowMs` (the expired ones are dropped). */
  private liveSessions(userId: string, nowMs: number): Map<string, AccountSession> {
    const open = this.sessions.get(userId) ?? new Map<string, AccountSession>();
    for (const [id, session] of open) if (session.expiresAtMs <= nowMs) open.delete(id);
    return open;
  }

  async saveCeremony(id: string, ceremony: Ceremony) {
    this.ceremonies.set(id, { ...ceremony });
  }

  async takeCeremony(id: string) {
    const ceremony = this.ceremonies.get(id);
    this.ceremonies.delete(id);
    return ceremony;
  }
}
