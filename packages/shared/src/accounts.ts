import { z } from 'zod';
import { userTextSchema } from './text.js';

/*
 * Accounts (passkeys; issue 16): what the web API's /api/auth/… and /api/account/… routes take and
 * give. The WebAuthn credentials a browser sends are checked for shape and size here; what they
 * prove is checked by the server's WebAuthn library (apps/web/lib/server/passkeys.ts).
 */

export const HANDLE_PATTERN = /^[A-Za-z0-9_]{3,20}$/;
export const HandleSchema = z.string().regex(HANDLE_PATTERN, 'must be 3 to 20 letters, digits or _');

export const AccountSchema = z.object({
  id: z.string().min(1).max(64),
  name: z.string().min(1).max(100),
  handle: HandleSchema,
  createdAt: z.string().max(40),
});
export type TAccount = z.infer<typeof AccountSchema>;

/** A ceremony (a sign-up, sign-in or added passkey under way) is named by this id. */
export const CeremonyIdSchema = z.string().regex(/^c-[A-Za-z0-9_-]{16,64}$/, 'must be a ceremony id from …/options');

/** base64url, as WebAuthn JSON carries binary fields. */
const base64url = (max: number) =>
  z
    .string()
    .max(max, `must be at most ${max} characters`)
    .regex(/^[A-Za-z0-9_-]*$/, 'must be base64url');

const credentialBase = {
  id: base64url(1_400).min(1),
  rawId: base64url(1_400).min(1),
  type: z.literal('public-key'),
  clientExtensionResults: z.record(z.string(), z.unknown()).default({}),
  authenticatorAttachment: z.enum(['platform', 'cross-platform']).optional(),
};

/** The transports WebAuthn names (a browser may add others: they are left out, not refused). */
export const PASSKEY_TRANSPORTS = ['ble', 'hybrid', 'internal', 'nfc', 'usb'] as const;
export type TPasskeyTransport = (typeof PASSKEY_TRANSPORTS)[number];
export function knownTransports(transports: readonly string[]): TPasskeyTransport[] {
  return transports.filter((t): t is TPasskeyTransport => (PASSKEY_TRANSPORTS as readonly string[]).includes(t));
}

/** navigator.credentials.create()'s answer as JSON (RegistrationResponseJSON). */
export const RegistrationCredentialSchema = z.object({
  ...credentialBase,
  response: z.object({
    clientDataJSON: base64url(4_000).min(1),
    attestationObject: base64url(16_000).min(1),
    transports: z.array(z.string().max(32)).max(8).transform(knownTransports).optional(),
  }),
});

/** navigator.credentials.get()'s answer as JSON (AuthenticationResponseJSON). */
export const AuthenticationCredentialSchema = z.object({
  ...credentialBase,
  response: z.object({
    clientDataJSON: base64url(4_000).min(1),
    authenticatorData: base64url(4_000).min(1),
    // Post-quantum (ML-DSA) signatures run to 4.6 KB.
    signature: base64url(8_000).min(1),
    userHandle: base64url(200).optional(),
  }),
});

/** POST /api/auth/register/options: the account to make (a guest's session there is upgraded). */
export const RegisterOptionsRequestSchema = z.object({
  name: userTextSchema('name', 40),
  handle: HandleSchema,
});

export const RegisterVerifyRequestSchema = z.object({
  ceremony: CeremonyIdSchema,
  credential: RegistrationCredentialSchema,
});

export const SignInVerifyRequestSchema = z.object({
  ceremony: CeremonyIdSchema,
  credential: AuthenticationCredentialSchema,
});

/** PATCH /api/account. */
export const UpdateAccountRequestSchema = z.object({ name: userTextSchema('name', 40) });

/** A passkey as its owner sees it (never its key). */
export const PasskeyInfoSchema = z.object({
  id: z.string(),
  createdAt: z.string(),
  lastUsedAt: z.string().optional(),
  backedUp: z.boolean(),
});
export type TPasskeyInfo = z.infer<typeof PasskeyInfoSchema>;

/** One of an account's signed-in sessions (GET /api/auth/sessions). */
export const SessionInfoSchema = z.object({
  id: z.string(),
  createdAt: z.string(),
  expiresAt: z.string(),
  agent: z.string(),
  /** The session this request came with. */
  current: z.boolean(),
});
export type TSessionInfo = z.infer<typeof SessionInfoSchema>;
