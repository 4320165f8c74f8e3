import { AccountSchema, type TAccount } from '@ovation/shared';
import { z } from 'zod';

/*
 * Accounts (issue 16; ARCHITECTURE.md, *Accounts*): a broadcaster signs in with passkeys, no password.
 * An account keeps the id of the guest it was made from (`u-…`), so a guest's videos, bans and
 * ownership checks carry over unchanged. One interface, a memory driver and a Redis driver, both
 * passing test/account-store-contract.test.ts. The routes are app/api/auth/… and app/api/account/….
 */

export { AccountSchema };
export type Account = TAccount;

/** A passkey as the server keeps it (WebAuthn: the credential's public key, never a secret). */
export const PasskeySchema = z.object({
  /** The credential id, base64url. */
  id: z.string().min(1).max(1_400),
  /** The COSE public key, base64url (an ML-DSA-87 key is 2.6 KB). */
  publicKey: z.string().min(1).max(8_000),
  /** The authenticator's signature counter as last seen (0 for synced passkeys, which keep none). */
  counter: z.number().int().nonnegative(),
  transports: z.array(z.string().max(32)).max(8),
  /** Backed up (synced to the user's other devices). */
  backedUp: z.boolean(),
  createdAt: z.string().max(40),
  lastUsedAt: z.string().max(40).optional(),
  /** The relying party (host name) it was registered for: it signs in there only. */
  rpID: z.string().max(255).optional(),
});
export type Passkey = z.infer<typeof PasskeySchema>;

/** A registration or sign-in under way: its challenge, kept server-side until used once. */
export const CeremonySchema = z.object({
  kind: z.enum(['register', 'sign-in', 'add-passkey', 'reauth']),
  challenge: z.string().min(1).max(200),
  userId: z.string().max(64).optional(),
  name: z.string().max(100).optional(),
  handle: z.string().max(20).optional(),
  /** A sign-up from a guest's session: that guest (userId) becomes the account. */
  upgrade: z.boolean().optional(),
  /** The relying party the options were made for: the answer must be for it. */
  rpID: z.string().max(255),
  origins: z.array(z.string().max(300)).min(1).max(16),
});
export type Ceremony = z.infer<typeof CeremonySchema>;

export const MAX_PASSKEYS_PER_ACCOUNT = 10;

/**
 * A signed-in session of an account (one sign-in on one device): its session family (session.ts),
 * listed to the account holder, who may end it. An account's session is valid only while listed
 * here, so ending one (or signing out) ends every cookie of it at once.
 */
export const AccountSessionSchema = z.object({
  /** The session family (the `sid` of its tokens). */
  id: z.string().min(1).max(64),
  createdAt: z.string().max(40),
  expiresAtMs: z.number().int().nonnegative(),
  /** The browser it was opened from, as its User-Agent said (shortened): for the list only. */
  agent: z.string().max(200),
  /** When a passkey was last checked in this session (its sign-in, or a confirmation since). */
  verifiedAtMs: z.number().int().nonnegative(),
  /** The passkey it was signed in with: removing that passkey ends the session. */
  passkeyId: z.string().max(1_400).optional(),
});
export type AccountSession = z.infer<typeof AccountSessionSchema>;

export interface SessionHolder {
  name: string;
  verifiedAtMs: number;
}

/** Whether a use with `counter` may follow one with `stored` (WebAuthn: it must go up, unless both are 0). */
export function counterAdvances(stored: number, counter: number): boolean {
  return (stored === 0 && counter === 0) || counter > stored;
}

/** Sessions an account may hold at once; a new sign-in past it ends the oldest. */
export const MAX_SESSIONS_PER_ACCOUNT = 20;

/** How long a ceremony waits for its answer (WebAuthn's own timeout is asked to be 2 minutes). */
export const CEREMONY_TTL_MS = 5 * 60_000;

export interface AccountStoreOptions {
  /** CEREMONY_TTL_MS by default (tests: shorter). */
  ceremonyTtlMs?: number;
}

/**
 * A sign-up that stopped between its steps (Redis: its handle claimed, not yet confirmed) holds
 * the handle this long; after it, another sign-up may take the handle. It is also how long a
 * sign-up of one id keeps another of the same id waiting (`busy`).
 */
export const PENDING_ACCOUNT_GRACE_MS = 10 * 60_000;

/** Handles are unique whatever their case: `Ann_1` and `ann_1` are one handle. */
export function handleKey(handle: string): string {
  return handle.toLowerCase();
}

/** `busy`: another sign-up of the same id is under way (Redis; see redis-accounts.ts). */
export type CreateAccountOutcome = 'created' | 'exists' | 'busy' | 'handle-taken' | 'passkey-taken';
export type AddPasskeyOutcome = 'added' | 'taken' | 'full' | 'no-account';
export type RemovePasskeyOutcome = 'removed' | 'last' | 'missing';

export interface AccountStore {
  /**
   * Makes `account` with its first passkey, unless the id is an account already (`exists`), or
   * the handle (any case) or the credential is another account's.
   */
  createAccount(account: Account, passkey: Passkey): Promise<CreateAccountOutcome>;
  getAccount(id: string): Promise<Account | undefined>;
  /** The account holding `handle` (any case). */
  accountIdOfHandle(handle: string): Promise<string | undefined>;
  /** The passkey with this credential id, and whose it is. */
  findPasskey(credentialId: string): Promise<{ userId: string; passkey: Passkey } | undefined>;
  /** The account's passkeys, oldest first. */
  listPasskeys(userId: string): Promise<Passkey[]>;
  /**
   * Adds a passkey (at most MAX_PASSKEYS_PER_ACCOUNT); `taken`: the credential is registered
   * already (someone else's, or this account's: its counter is kept, never reset).
   */
  addPasskey(userId: string, passkey: Passkey): Promise<AddPasskeyOutcome>;
  /** Removes a passkey, never the last one (an account must keep a way in). */
  removePasskey(userId: string, credentialId: string): Promise<RemovePasskeyOutcome>;
  /**
   * Notes a use of the passkey: its counter and when. False (nothing noted) when the passkey is
   * gone, or its counter did not go up (a cloned authenticator; synced passkeys keep 0, always
   * allowed) — checked and written at once, so two uses with one counter cannot both pass.
   */
  notePasskeyUse(userId: string, credentialId: string, counter: number, at: string): Promise<boolean>;
  /** Renames the account (its display name; the handle stays). False when there is no account. */
  renameAccount(userId: string, name: string): Promise<boolean>;
  /**
   * Opens a session of the account; past MAX_SESSIONS_PER_ACCOUNT the oldest are closed (their
   * ids returned). Expired sessions are dropped on the way.
   */
  openSession(userId: string, session: AccountSession, nowMs: number): Promise<string[]>;
  /**
   * The account's name, and when a passkey was last checked in the session, if `sessionId` is one
   * of its open sessions, not expired at `nowMs`.
   */
  sessionHolder(userId: string, sessionId: string, nowMs: number): Promise<SessionHolder | undefined>;
  /** Notes that a passkey was checked in the session just now (a confirmation); false when not open. */
  markSessionVerified(userId: string, sessionId: string, atMs: number): Promise<boolean>;
  /** Closes the sessions signed in with the passkey (it was removed); their ids. */
  closeSessionsOfPasskey(userId: string, passkeyId: string): Promise<string[]>;
  /** The account's open sessions, newest first. */
  listSessions(userId: string, nowMs: number): Promise<AccountSession[]>;
  /** Closes a session; false when it was not open. */
  closeSession(userId: string, sessionId: string): Promise<boolean>;
  /** Keeps a ceremony for CEREMONY_TTL_MS. */
  saveCeremony(id: string, ceremony: Ceremony): Promise<void>;
  /** The ceremony, once: taking it removes it (a challenge is answered at most once). */
  takeCeremony(id: string): Promise<Ceremony | undefined>;
}

/** A signature counter as kept: a whole number, never negative (anything else counts as 0). */
export function asCounter(counter: number): number {
  return Number.isFinite(counter) ? Math.max(0, Math.floor(counter)) : 0;
}

/** Sessions newest first (ties by id). */
export function newestFirst(a: AccountSession, b: AccountSession): number {
  return a.createdAt === b.createdAt ? (a.id < b.id ? -1 : 1) : a.createdAt < b.createdAt ? 1 : -1;
}

/** Passkeys oldest first (ties by id), as both drivers list them. */
export function byCreation(a: Passkey, b: Passkey): number {
  return a.createdAt === b.createdAt ? (a.id < b.id ? -1 : 1) : a.createdAt < b.createdAt ? -1 : 1;
}

/** JSON.parse, with undefined for what is not JSON (a schema then refuses it). */
export function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
