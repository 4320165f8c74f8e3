import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { ConfigError, commonEnvShape, DEV_INTERNAL_TOKEN, env, parseEnv, resolveInternalToken } from '../src/config.js';

const Schema = z.object({ ...commonEnvShape, PORT: env.port(4000), URLS: env.urlList().default([]) });

describe('parseEnv', () => {
  it('applies defaults, treats empty strings as unset and freezes the result', () => {
    const config = parseEnv(Schema, { PORT: '', HOST: '0.0.0.0' });
    expect(config.PORT).toBe(4000);
    expect(config.HOST).toBe('0.0.0.0');
    expect(Object.isFrozen(config)).toBe(true);
  });

  it('fails with one line naming the variable', () => {
    expect(() => parseEnv(Schema, { PORT: 'eighty' })).toThrow(ConfigError);
    expect(() => parseEnv(Schema, { PORT: 'eighty' })).toThrow(/^Invalid environment variable PORT: /);
    expect(() => parseEnv(Schema, { URLS: 'http://a:1,ftp://b' })).toThrow(/variable URLS/);
    expect(() => parseEnv(Schema, { LOG_LEVEL: 'loud' })).toThrow(/variable LOG_LEVEL/);
  });

  it('parses URL lists and strips trailing slashes', () => {
    expect(parseEnv(Schema, { URLS: 'http://a:1/, http://b:2' }).URLS).toEqual(['http://a:1', 'http://b:2']);
  });

  it('requires INTERNAL_TOKEN in production only', () => {
    expect(() => resolveInternalToken(undefined, 'production')).toThrow(/INTERNAL_TOKEN/);
    expect(resolveInternalToken(undefined, 'development')).toBe(DEV_INTERNAL_TOKEN);
    expect(resolveInternalToken('x'.repeat(20), 'production')).toBe('x'.repeat(20));
  });
});
