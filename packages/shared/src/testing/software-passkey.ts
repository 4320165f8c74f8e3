import { createHash, generateKeyPairSync, type KeyObject, randomBytes, sign } from 'node:crypto';

/*
 * A software passkey for tests and load tools (`@ovation/shared/software-passkey`; nothing in a
 * service imports it): what a platform authenticator does, in Node. It makes an ES256
 * (P-256) key pair, answers navigator.credentials.create() options with a `none` attestation, and
 * signs navigator.credentials.get() challenges — the WebAuthn JSON SimpleWebAuthn's browser
 * package would send. The server checks it as it checks any passkey (origin, RP ID, challenge,
 * user verification, signature), so route and integration tests sign up and in for real.
 * Browser tests use Chromium's virtual authenticator instead (e2e).
 */

/** The fields of the creation options a test passkey reads (PublicKeyCredentialCreationOptionsJSON). */
export interface CreationOptions {
  challenge: string;
  rp: { id?: string };
  user: { id: string };
}

/** The fields of the request options a test passkey reads (PublicKeyCredentialRequestOptionsJSON). */
export interface RequestOptions {
  challenge: string;
  rpId?: string;
}

export class SoftwarePasskey {
  readonly id = randomBytes(16).toString('base64url');
  private readonly privateKey: KeyObject;
  private readonly publicKey: KeyObject;
  /** The account's user handle, base64url (learnt when registered). */
  userHandle: string | undefined;
  /** The signature counter, counted up by each sign-in (a test may set it back to replay). */
  counter = 0;
  /** Whether the authenticator says the person was verified (fingerprint, PIN). */
  verifiesUser = true;

  constructor(private readonly rpID: string) {
    ({ privateKey: this.privateKey, publicKey: this.publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' }));
  }

  /** The answer to creation options, for `origin` (RegistrationResponseJSON). */
  register(options: CreationOptions, origin: string) {
    this.userHandle = options.user.id;
    const clientDataJSON = clientData('webauthn.create', options.challenge, origin);
    const jwk = this.publicKey.export({ format: 'jwk' });
    const coseKey = cbor(
      new Map<number, CborValue>([
        [1, 2], // kty: EC2
        [3, -7], // alg: ES256
        [-1, 1], // crv: P-256
        [-2, Buffer.from(jwk.x as string, 'base64url')],
        [-3, Buffer.from(jwk.y as string, 'base64url')],
      ]),
    );
    const credentialId = Buffer.from(this.id, 'base64url');
    const idLength = Buffer.alloc(2);
    idLength.writeUInt16BE(credentialId.length);
    // The AT flag (0x40): attested credential data follows — AAGUID (zeros), id length, id, key.
    const authData = Buffer.concat([
      this.authenticatorData(options.rp.id ?? this.rpID, 0x40),
      Buffer.alloc(16),
      idLength,
      credentialId,
      coseKey,
    ]);
    const attestationObject = cbor(
      new Map<string, CborValue>([
        ['fmt', 'none'],
        ['attStmt', new Map()],
        ['authData', authData],
      ]),
    );
    return {
      id: this.id,
      rawId: this.id,
      type: 'public-key' as const,
      clientExtensionResults: {},
      authenticatorAttachment: 'platform' as const,
      response: {
        clientDataJSON: clientDataJSON.toString('base64url'),
        attestationObject: attestationObject.toString('base64url'),
        transports: ['internal'],
      },
    };
  }

  /** The answer to request options, for `origin` (AuthenticationResponseJSON). */
  authenticate(options: RequestOptions, origin: string) {
    this.counter += 1;
    const clientDataJSON = clientData('webauthn.get', options.challenge, origin);
    const authData = this.authenticatorData(options.rpId ?? this.rpID, 0);
    const signature = sign(
      'sha256',
      Buffer.concat([authData, createHash('sha256').update(clientDataJSON).digest()]),
      this.privateKey,
    );
    return {
      id: this.id,
      rawId: this.id,
      type: 'public-key' as const,
      clientExtensionResults: {},
      authenticatorAttachment: 'platform' as const,
      response: {
        clientDataJSON: clientDataJSON.toString('base64url'),
        authenticatorData: authData.toString('base64url'),
        signature: signature.toString('base64url'),
        ...(this.userHandle ? { userHandle: this.userHandle } : {}),
      },
    };
  }

  /** RP ID hash, flags (user present, user verified when it does, + `extra`), counter. */
  private authenticatorData(rpID: string, extra: number): Buffer {
    const counter = Buffer.alloc(4);
    counter.writeUInt32BE(this.counter);
    const flags = 0x01 | (this.verifiesUser ? 0x04 : 0) | extra;
    return Buffer.concat([createHash('sha256').update(rpID).digest(), Buffer.from([flags]), counter]);
  }
}

function clientData(type: string, challenge: string, origin: string): Buffer {
  return Buffer.from(JSON.stringify({ type, challenge, origin, crossOrigin: false }));
}

/** What the small CBOR encoder below writes: the attestation's and the COSE key's shapes. */
type CborValue = number | string | Buffer | Map<number | string, CborValue>;

/** CBOR (RFC 8949) for the few types a `none` attestation holds; maps keep their insertion order. */
function cbor(value: CborValue): Buffer {
  if (typeof value === 'number') {
    return value >= 0 ? head(0, value) : head(1, -1 - value);
  }
  if (typeof value === 'string') {
    const bytes = Buffer.from(value);
    return Buffer.concat([head(3, bytes.length), bytes]);
  }
  if (Buffer.isBuffer(value)) return Buffer.concat([head(2, value.length), value]);
  const parts = [head(5, value.size)];
  for (const [key, item] of value) parts.push(cbor(key), cbor(item));
  return Buffer.concat(parts);
}

function head(major: number, length: number): Buffer {
  if (length < 24) return Buffer.from([(major << 5) | length]);
  if (length < 0x100) return Buffer.from([(major << 5) | 24, length]);
  const out = Buffer.alloc(3);
  out[0] = (major << 5) | 25;
  out.writeUInt16BE(length, 1);
  return out;
}

let signUps = 0;

/**
 * Signs up over HTTP (a running web server at `baseUrl`) with a new software passkey: what a
 * browser does, for integration tests and load tools. `cookie`: a guest's session to upgrade.
 * Returns the account's session cookie (`name=value`) and user.
 */
export async function signUpOverHttp(
  baseUrl: string,
  name: string,
  options: { handle?: string; cookie?: string; headers?: Record<string, string> } = {},
): Promise<{ cookie: string; user: { id: string; name: string }; passkey: SoftwarePasskey; handle: string }> {
  const origin = new URL(baseUrl).origin;
  const handle = options.handle ?? `t_${process.pid.toString(36)}_${(++signUps).toString(36)}`;
  const passkey = new SoftwarePasskey(new URL(baseUrl).hostname);
  const headers = {
    'content-type': 'application/json',
    origin,
    ...(options.cookie ? { cookie: options.cookie } : {}),
    ...options.headers,
  };
  const post = async (path: string, body: unknown) => {
    const response = await fetch(new URL(path, baseUrl), { method: 'POST', headers, body: JSON.stringify(body) });
    if (!response.ok) throw new Error(`${path}: ${response.status} ${await response.text()}`);
    return response;
  };
  const begun = (await (await post('/api/auth/register/options', { name, handle })).json()) as {
    ceremony: string;
    options: CreationOptions;
  };
  const done = await post('/api/auth/register/verify', {
    ceremony: begun.ceremony,
    credential: passkey.register(begun.options, origin),
  });
  const cookie = (done.headers.get('set-cookie') ?? '').split(';')[0] ?? '';
  const { user } = (await done.json()) as { user: { id: string; name: string } };
  return { cookie, user, passkey, handle };
}
