import {
  AppError,
  type AuthenticationCredentialSchema,
  knownTransports,
  type RegistrationCredentialSchema,
  randomTag,
  type TAccount,
  type TUser,
} from '@ovation/shared';
import {
  generateAuthenticationOptions,
  generateRegistrationOptions,
  verifyAuthenticationResponse,
  verifyRegistrationResponse,
} from '@simplewebauthn/server';
import { NextResponse } from 'next/server';
import type { z } from 'zod';
import { clientAddressOf } from './client-address';
import { context } from './context';
import type { Session } from './session';
import { type Ceremony, handleKey, type Passkey, PasskeySchema } from './store/accounts';
import { SESSION_MAX_AGE_MS } from './store/store';

/*
 * Passkeys (WebAuthn) with SimpleWebAuthn: the options a browser's navigator.credentials call
 * needs, and the check of what it answers. Each ceremony's challenge is kept server-side
 * (AccountStore ceremonies, 5 minutes) under a random ceremony id the client sends back, and is
 * taken once: an answer is checked against it at most once. Every passkey is discoverable and
 * user-verified (the authenticator asks for a fingerprint, face or PIN); no attestation is asked
 * (Ovation trusts any authenticator the person chooses).
 *
 * The relying party is the app's origin: the request's `Origin`, one of WEB_ORIGINS (required in
 * production), or outside production one naming the request's own host. Its host name is the RP ID.
 * Browsers refuse passkeys on IP-address origins (http://127.0.0.1:…): serve the app under a name
 * (http://localhost:… in development).
 */

const RP_NAME = 'Ovation';
/** What the browser is asked to wait for the person (the ceremony itself is kept longer). */
const BROWSER_TIMEOUT_MS = 120_000;

type RegistrationCredential = z.output<typeof RegistrationCredentialSchema>;
type AuthenticationCredential = z.output<typeof AuthenticationCredentialSchema>;

/**
 * The origin a passkey must have been used on for this request, and its RP ID: the request's
 * `Origin`, which must be one of WEB_ORIGINS or (unset) name the request's own `Host`, as the
 * proxy's cross-site check does; without `Origin` (not a browser), the request's own host.
 */
function relyingParty(request: Request): { rpID: string; origins: string[] } {
  const { config } = context();
  // In production the app's origins are configuration, never a header: behind a proxy that passes
  // any Host, a look-alike site could otherwise have ceremonies made for its own name.
  if (config.nodeEnv === 'production' && !config.webOrigins) {
    throw new AppError('FORBIDDEN', 'passkeys need WEB_ORIGINS (the origins the app is served under) in production');
  }
  const own = new URL(request.url);
  const host = request.headers.get('host')?.toLowerCase() ?? own.host;
  const origin = request.headers.get('origin') ?? `${own.protocol}//${host}`;
  const url = URL.canParse(origin) ? new URL(origin) : undefined;
  const allowed = config.webOrigins ? config.webOrigins.includes(origin) : url?.host === host;
  if (!url || !allowed) {
    throw new AppError('FORBIDDEN', `passkeys are used on this app's own origin, not ${origin.slice(0, 100)}`);
  }
  return { rpID: url.hostname, origins: [url.origin] };
}

/** Counts a ceremony against the address's budget: first, before anything else is looked up. */
async function meterCeremony(request: Request): Promise<void> {
  await context().limits.ceremony(clientAddressOf(request));
}

async function saveCeremony(ceremony: Ceremony): Promise<string> {
  const id = `c-${randomTag(16)}`;
  await context().accounts.saveCeremony(id, ceremony);
  return id;
}

/** The ceremony, once; refused when unknown, expired, used, or of another kind. */
async function takeCeremony(id: string, kind: Ceremony['kind']): Promise<Ceremony> {
  const ceremony = await context().accounts.takeCeremony(id);
  if (!ceremony || ceremony.kind !== kind) {
    throw new AppError('BAD_REQUEST', 'this passkey request expired or was used already; start again');
  }
  return ceremony;
}

/**
 * A failed WebAuthn check as the contract's error. The library's own words stay in the log: they
 * can name stored values (a passkey's counter) or parser internals.
 */
function refusedPasskey(error: unknown): AppError {
  const reason = error instanceof Error ? error.message.slice(0, 300) : String(error);
  console.warn(JSON.stringify({ msg: 'passkey refused', reason }));
  return new AppError(
    'BAD_REQUEST',
    'the passkey was refused: it does not answer this request (origin, challenge or user verification)',
  );
}

/**
 * Handles no one may take: they would pass for the service itself in comments and links. Compared
 * whatever their case.
 */
const RESERVED_HANDLES = new Set([
  'admin',
  'administrator',
  'api',
  'help',
  'moderator',
  'mod',
  'official',
  'ovation',
  'root',
  'security',
  'staff',
  'studio',
  'support',
  'system',
]);

/**
 * POST /api/auth/register/options: a sign-up's options. A guest's session here becomes the
 * account (their id, so their videos stay theirs); an account's session is refused.
 */
export async function registrationOptions(
  request: Request,
  current: Session | undefined,
  name: string,
  handle: string,
) {
  const { accounts, sessions } = context();
  await meterCeremony(request);
  if (current?.account) {
    throw new AppError('CONFLICT', 'you are signed in with an account already; add a passkey on your account page');
  }
  if (RESERVED_HANDLES.has(handleKey(handle)) || (await accounts.accountIdOfHandle(handle)) !== undefined) {
    throw new AppError('HANDLE_TAKEN', `the handle ${handle} is taken; choose another`);
  }
  const userId = current?.user.id ?? sessions.newUser(name).id;
  const rp = relyingParty(request);
  const options = await creationOptions(rp.rpID, { id: userId, handle, name }, []);
  const ceremony = await saveCeremony({
    kind: 'register',
    challenge: options.challenge,
    userId,
    name,
    handle,
    ...(current ? { upgrade: true } : {}),
    ...rp,
  });
  return { ceremony, options };
}

/** POST /api/auth/register/verify: checks the new passkey and makes the account; signs it in. */
export async function register(
  request: Request,
  current: Session | undefined,
  ceremonyId: string,
  credential: RegistrationCredential,
): Promise<Response> {
  const { accounts, store, limits } = context();
  const ceremony = await takeCeremony(ceremonyId, 'register');
  const { userId, name, handle } = ceremony;
  if (!userId || !name || !handle) throw new AppError('BAD_REQUEST', 'this sign-up is incomplete; start again');
  // An upgrade is finished by the guest who began it, still signed in as that guest.
  if (ceremony.upgrade && (current?.account !== false || current.user.id !== userId)) {
    throw new AppError('FORBIDDEN', 'this sign-up began in another session; start again');
  }
  const passkey = await verifiedNewPasskey(ceremony, credential);
  await limits.account(clientAddressOf(request));
  const account: TAccount = { id: userId, name, handle, createdAt: new Date().toISOString() };
  const outcome = await accounts.createAccount(account, passkey);
  if (outcome === 'handle-taken') throw new AppError('HANDLE_TAKEN', `the handle ${handle} is taken; choose another`);
  if (outcome === 'passkey-taken') throw new AppError('CONFLICT', 'this passkey belongs to another account');
  if (outcome !== 'created') throw new AppError('CONFLICT', 'this account exists already, or is being made; sign in');
  // The upgraded guest's cookies (a copy anywhere included) end: from now on only the account's
  // sessions. (A sign-up that did not begin as an upgrade leaves whatever guest the browser has.)
  if (ceremony.upgrade && current && !current.account) await store.revokeSession(current.family, current.expiresAtMs);
  return signedIn(request, { id: userId, name }, account, passkey.id, 201);
}

/** POST /api/auth/login/options: a sign-in's options (any of the person's discoverable passkeys). */
export async function signInOptions(request: Request) {
  await meterCeremony(request);
  const rp = relyingParty(request);
  const options = await generateAuthenticationOptions({
    rpID: rp.rpID,
    userVerification: 'required',
    timeout: BROWSER_TIMEOUT_MS,
  });
  const ceremony = await saveCeremony({ kind: 'sign-in', challenge: options.challenge, ...rp });
  return { ceremony, options };
}

/**
 * POST /api/auth/login/verify: checks the passkey's signature; signs its account in. The session
 * the request came with (a guest's, or an account's) is ended: a browser holds one.
 */
export async function signIn(
  request: Request,
  current: Session | undefined,
  ceremonyId: string,
  credential: AuthenticationCredential,
) {
  const ceremony = await takeCeremony(ceremonyId, 'sign-in');
  const { account, passkeyId } = await checkedAssertion(ceremony, credential);
  if (current) await signOut(current);
  return signedIn(request, { id: account.id, name: account.name }, account, passkeyId, 200);
}

/**
 * POST /api/auth/reauth/options: confirming the signed-in account's passkey (before changing its
 * ways in): options listing the account's own passkeys.
 */
export async function reauthOptions(request: Request, account: TAccount) {
  await meterCeremony(request);
  const { accounts } = context();
  const rp = relyingParty(request);
  const own = await accounts.listPasskeys(account.id);
  const options = await generateAuthenticationOptions({
    rpID: rp.rpID,
    userVerification: 'required',
    allowCredentials: own.map((p) => ({ id: p.id, transports: knownTransports(p.transports) })),
    timeout: BROWSER_TIMEOUT_MS,
  });
  const ceremony = await saveCeremony({ kind: 'reauth', challenge: options.challenge, userId: account.id, ...rp });
  return { ceremony, options };
}

/** POST /api/auth/reauth/verify: one of the account's passkeys answered; the session is confirmed now. */
export async function reauth(session: Session, ceremonyId: string, credential: AuthenticationCredential) {
  const ceremony = await takeCeremony(ceremonyId, 'reauth');
  if (ceremony.userId !== session.user.id) throw new AppError('FORBIDDEN', 'this confirmation is for another account');
  const { account } = await checkedAssertion(ceremony, credential);
  if (account.id !== session.user.id) throw new AppError('FORBIDDEN', "this passkey is another account's");
  const now = Date.now();
  await context().accounts.markSessionVerified(account.id, session.family, now);
  return { confirmedAt: new Date(now).toISOString() };
}

/**
 * A passkey's answer to a sign-in or confirmation ceremony, checked: a registered passkey (of the
 * ceremony's relying party), its signature over the ceremony's challenge on its origin, the person
 * verified, the user handle its account's, and its counter going up (noted at once, so one answer
 * cannot be used twice, and a cloned authenticator is caught).
 */
async function checkedAssertion(
  ceremony: Ceremony,
  credential: AuthenticationCredential,
): Promise<{ account: TAccount; passkeyId: string }> {
  const { accounts } = context();
  const found = await accounts.findPasskey(credential.id);
  if (!found) throw new AppError('UNAUTHORIZED', 'this passkey is not registered here (it may have been removed)');
  const { userId, passkey } = found;
  if (passkey.rpID !== undefined && passkey.rpID !== ceremony.rpID) {
    throw new AppError('UNAUTHORIZED', 'this passkey was registered for another address of this app');
  }
  let verification: Awaited<ReturnType<typeof verifyAuthenticationResponse>>;
  try {
    verification = await verifyAuthenticationResponse({
      response: credential,
      expectedChallenge: ceremony.challenge,
      expectedOrigin: ceremony.origins,
      expectedRPID: ceremony.rpID,
      credential: {
        id: passkey.id,
        publicKey: new Uint8Array(Buffer.from(passkey.publicKey, 'base64url')),
        counter: passkey.counter,
        transports: knownTransports(passkey.transports),
      },
      requireUserVerification: true,
    });
  } catch (error) {
    throw refusedPasskey(error);
  }
  if (!verification.verified) throw new AppError('UNAUTHORIZED', 'the passkey could not be verified');
  // The user handle a discoverable passkey returns must be the account it is registered to.
  const handle = credential.response.userHandle;
  if (handle !== undefined && Buffer.from(handle, 'base64url').toString() !== userId) {
    throw new AppError('UNAUTHORIZED', 'the passkey does not belong to the account it names');
  }
  const account = await accounts.getAccount(userId);
  if (!account) throw new AppError('UNAUTHORIZED', 'the account of this passkey no longer exists');
  const noted = await accounts.notePasskeyUse(
    userId,
    passkey.id,
    verification.authenticationInfo.newCounter,
    new Date().toISOString(),
  );
  if (!noted) throw new AppError('UNAUTHORIZED', 'this passkey was removed, or its answer was used already');
  return { account, passkeyId: passkey.id };
}

/** POST /api/account/passkeys/options: options for one more passkey of the signed-in account. */
export async function addPasskeyOptions(request: Request, account: TAccount) {
  await meterCeremony(request);
  const { accounts } = context();
  const rp = relyingParty(request);
  const own = await accounts.listPasskeys(account.id);
  const options = await creationOptions(rp.rpID, account, own);
  const ceremony = await saveCeremony({
    kind: 'add-passkey',
    challenge: options.challenge,
    userId: account.id,
    ...rp,
  });
  return { ceremony, options };
}

/** POST /api/account/passkeys/verify: checks and adds the passkey to the signed-in account. */
export async function addPasskey(account: TAccount, ceremonyId: string, credential: RegistrationCredential) {
  const { accounts } = context();
  const ceremony = await takeCeremony(ceremonyId, 'add-passkey');
  if (ceremony.userId !== account.id) throw new AppError('FORBIDDEN', 'this passkey request is for another account');
  const passkey = await verifiedNewPasskey(ceremony, credential);
  const outcome = await accounts.addPasskey(account.id, passkey);
  if (outcome === 'taken') throw new AppError('CONFLICT', 'this passkey is registered already');
  if (outcome === 'full') throw new AppError('CONFLICT', 'an account keeps at most 10 passkeys; remove one first');
  if (outcome === 'no-account') throw new AppError('UNAUTHORIZED', 'sign in again');
  return passkey;
}

/**
 * navigator.credentials.create() options for a new passkey of `user`: discoverable, the person
 * verified, no attestation; `existing` are the account's passkeys (the authenticator says so when
 * it holds one of them already: no duplicate on one device).
 */
function creationOptions(rpID: string, user: { id: string; handle: string; name: string }, existing: Passkey[]) {
  return generateRegistrationOptions({
    rpName: RP_NAME,
    rpID,
    userID: new TextEncoder().encode(user.id),
    userName: user.handle,
    userDisplayName: user.name,
    attestationType: 'none',
    authenticatorSelection: { residentKey: 'required', userVerification: 'required' },
    excludeCredentials: existing.map((p) => ({ id: p.id, transports: knownTransports(p.transports) })),
    timeout: BROWSER_TIMEOUT_MS,
  });
}

async function verifiedNewPasskey(ceremony: Ceremony, credential: RegistrationCredential): Promise<Passkey> {
  let verification: Awaited<ReturnType<typeof verifyRegistrationResponse>>;
  try {
    verification = await verifyRegistrationResponse({
      response: credential,
      expectedChallenge: ceremony.challenge,
      expectedOrigin: ceremony.origins,
      expectedRPID: ceremony.rpID,
      requireUserVerification: true,
    });
  } catch (error) {
    throw refusedPasskey(error);
  }
  const info = verification.registrationInfo;
  if (!verification.verified || !info) throw new AppError('BAD_REQUEST', 'the passkey could not be verified');
  // WebAuthn credential ids are at most 1023 bytes; the store's caps hold for what is kept.
  const passkey = PasskeySchema.safeParse({
    id: info.credential.id,
    publicKey: Buffer.from(info.credential.publicKey).toString('base64url'),
    counter: info.credential.counter,
    transports: info.credential.transports ?? [],
    backedUp: info.credentialBackedUp,
    createdAt: new Date().toISOString(),
    rpID: ceremony.rpID,
  });
  if (!passkey.success || Buffer.from(info.credential.id, 'base64url').length > 1023) {
    throw new AppError('BAD_REQUEST', 'the passkey was refused: its id or key is larger than WebAuthn allows');
  }
  return passkey.data;
}

/**
 * The answer of a finished sign-up or sign-in: a new session of the account (listed, so it can be
 * ended from any of its others), its cookie, and `{ user, account }`.
 */
async function signedIn(
  request: Request,
  user: TUser,
  account: TAccount,
  passkeyId: string,
  status: number,
): Promise<Response> {
  const { accounts, sessions, store } = context();
  const now = Date.now();
  const family = { id: sessions.newSessionId(), expiresAtMs: now + SESSION_MAX_AGE_MS };
  const agent = (request.headers.get('user-agent') ?? 'unknown browser').slice(0, 200);
  // Past the most an account holds, its oldest sessions are closed: their cookies stop working.
  await accounts.openSession(
    user.id,
    {
      id: family.id,
      createdAt: new Date(now).toISOString(),
      expiresAtMs: family.expiresAtMs,
      agent,
      verifiedAtMs: now,
      passkeyId,
    },
    now,
  );
  const address = clientAddressOf(request);
  // Remembered so that a ban can bar the address too (moderation.ts), as for guests.
  if (address !== 'unknown') await store.noteAddress(user.id, address);
  const response = NextResponse.json({ user, account }, { status });
  response.cookies.set(sessions.cookie(await sessions.sign(user, family, true), family.expiresAtMs));
  return response;
}

/** Signs a session out: an account's is closed (every cookie of it), a guest's family revoked. */
export async function signOut(current: Session): Promise<void> {
  const { accounts, store } = context();
  if (current.account) await accounts.closeSession(current.user.id, current.family);
  else await store.revokeSession(current.family, current.expiresAtMs);
}
