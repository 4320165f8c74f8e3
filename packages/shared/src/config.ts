import { z } from 'zod';

/*
 * Environment parsing shared by every tier: parse once at start, fail with one line naming the
 * variable, freeze. Nothing else in a service reads process.env.
 */

/*
 * Development defaults of the secrets, so a local stack works out of the box. They are in the
 * source, so anyone knows them: with NODE_ENV=production none of them is accepted for any secret,
 * unset or set explicitly (resolveSecret).
 */
/** INTERNAL_TOKEN outside production when unset. */
export const DEV_INTERNAL_TOKEN = 'dev-internal-token';
/** The web's SESSION_SECRET outside production when unset. */
export const DEV_SESSION_SECRET = 'dev-session-secret-not-for-production-0123456789';
/** CONNECT_TOKEN_SECRET (web signs, realtime verifies) outside production when unset. */
export const DEV_CONNECT_TOKEN_SECRET = 'dev-connect-token-secret-not-for-production-0123456789';

const DEV_SECRETS: ReadonlySet<string> = new Set([DEV_INTERNAL_TOKEN, DEV_SESSION_SECRET, DEV_CONNECT_TOKEN_SECRET]);

export class ConfigError extends Error {
  constructor(
    readonly variable: string,
    detail: string,
  ) {
    super(`Invalid environment variable ${variable}: ${detail}`);
    this.name = 'ConfigError';
  }
}

export const env = {
  port: (fallback: number) => z.coerce.number().int().min(0).max(65535).default(fallback),
  positiveMs: (fallback: number) => z.coerce.number().int().positive().max(86_400_000).default(fallback),
  positiveInt: (fallback: number) => z.coerce.number().int().positive().default(fallback),
  host: () => z.string().min(1).default('127.0.0.1'),
  logLevel: () => z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  nodeEnv: () => z.enum(['development', 'production', 'test']).default('development'),
  /** A comma list of http(s) URLs, trailing slashes removed. */
  urlList: () =>
    z
      .string()
      .transform((raw) =>
        raw
          .split(',')
          .map((s) => s.trim())
          .filter((s) => s.length > 0),
      )
      .pipe(z.array(z.url({ protocol: /^https?$/, error: 'must be a comma list of http(s) URLs' })))
      .transform((urls) => urls.map((u) => u.replace(/\/+$/, ''))),
  url: () => z.url({ protocol: /^https?$/ }).transform((u) => u.replace(/\/+$/, '')),
  redisUrl: () => z.url({ protocol: /^rediss?$/, error: 'must be a redis:// or rediss:// URL' }),
  /** A secret of at least `minLength` characters; unset is decided by resolveSecret. */
  secret: (minLength: number) => z.string().min(minLength, `must be at least ${minLength} characters`).optional(),
  name: () => z.string().regex(/^[A-Za-z0-9._-]{1,64}$/, 'must match ^[A-Za-z0-9._-]{1,64}$'),
  /** PEERS: `eu=http://h:p|http://h:p,ap=http://h:p` — other regions and their dispatcher URLs. */
  peers: () =>
    z.string().transform((raw, ctx) => {
      const peers: Array<{ region: string; urls: string[] }> = [];
      for (const entry of raw
        .split(',')
        .map((s) => s.trim())
        .filter((s) => s.length > 0)) {
        const [region, list] = entry.split('=', 2);
        const urls = (list ?? '').split('|').map((u) => u.trim().replace(/\/+$/, ''));
        const valid =
          region !== undefined &&
          /^[A-Za-z0-9._-]{1,64}$/.test(region) &&
          urls.every((u) => /^https?:\/\/[^\s/]+/.test(u)) &&
          urls.length > 0 &&
          !peers.some((p) => p.region === region);
        if (!valid) {
          ctx.addIssue({ code: 'custom', message: 'must look like eu=http://h:p|http://h:p,ap=http://h:p' });
          return z.NEVER;
        }
        peers.push({ region, urls });
      }
      return peers;
    }),
};

/** Variables every service takes. */
export const commonEnvShape = {
  HOST: env.host(),
  LOG_LEVEL: env.logLevel(),
  NODE_ENV: env.nodeEnv(),
  INTERNAL_TOKEN: env.secret(16),
  /** An OTLP/HTTP collector's base URL: traces are exported there (server/tracing.ts); unset, off. */
  OTEL_EXPORTER_OTLP_ENDPOINT: z.url({ protocol: /^https?$/ }).optional(),
};

/**
 * Parses `source` (default process.env) with an object schema of env variables.
 * Empty strings count as unset, so `PORT= npm start` takes the default.
 */
export function parseEnv<S extends z.ZodObject>(
  schema: S,
  source: Record<string, string | undefined> = process.env,
): Readonly<z.output<S>> {
  const cleaned: Record<string, string> = {};
  for (const key of Object.keys(schema.shape)) {
    const value = source[key];
    if (value !== undefined && value !== '') cleaned[key] = value;
  }
  const result = schema.safeParse(cleaned);
  if (!result.success) {
    const issue = result.error.issues[0];
    const variable = issue?.path[0] === undefined ? 'environment' : String(issue.path[0]);
    throw new ConfigError(variable, issue?.message ?? 'invalid');
  }
  return Object.freeze(result.data);
}

/**
 * A secret as configured, or `devDefault` outside production. With NODE_ENV=production it is
 * required, and none of the development defaults above is accepted even when set explicitly: a
 * value anyone can read in the source signs nothing.
 */
export function resolveSecret(name: string, value: string | undefined, nodeEnv: string, devDefault: string): string {
  if (nodeEnv !== 'production') return value || devDefault;
  if (!value) throw new ConfigError(name, 'required when NODE_ENV=production');
  if (DEV_SECRETS.has(value)) {
    throw new ConfigError(
      name,
      'is a development default from the source; set a secret of your own when NODE_ENV=production',
    );
  }
  return value;
}

/** INTERNAL_TOKEN as configured, the dev default outside production, or a ConfigError. */
export function resolveInternalToken(token: string | undefined, nodeEnv: string): string {
  return resolveSecret('INTERNAL_TOKEN', token, nodeEnv, DEV_INTERNAL_TOKEN);
}
