import {
  ConfigError,
  DEV_CONNECT_TOKEN_SECRET,
  DEV_INTERNAL_TOKEN,
  DEV_SESSION_SECRET,
  resolveSecret,
} from '@ovation/shared';
import { describe, expect, it } from 'vitest';
import { loadWebConfig } from '../lib/server/config';

/*
 * Secrets: the development defaults are in the source, so production must never run on them —
 * neither by leaving a secret unset nor by setting it to a default explicitly.
 */
const own = {
  INTERNAL_TOKEN: 'i'.repeat(40),
  SESSION_SECRET: 's'.repeat(40),
  CONNECT_TOKEN_SECRET: 'c'.repeat(40),
};
const production = { NODE_ENV: 'production', ...own };

describe('production refuses the secrets from the source', () => {
  for (const name of ['INTERNAL_TOKEN', 'SESSION_SECRET', 'CONNECT_TOKEN_SECRET'] as const) {
    it(`refuses to start without ${name}`, () => {
      expect(() => loadWebConfig({ ...production, [name]: undefined })).toThrow(
        `Invalid environment variable ${name}: required when NODE_ENV=production`,
      );
    });

    for (const devDefault of [DEV_INTERNAL_TOKEN, DEV_SESSION_SECRET, DEV_CONNECT_TOKEN_SECRET]) {
      if (devDefault.length < (name === 'INTERNAL_TOKEN' ? 16 : 32)) continue; // refused by length already
      it(`refuses ${name} set explicitly to the development default "${devDefault}"`, () => {
        expect(() => loadWebConfig({ ...production, [name]: devDefault })).toThrow(
          new ConfigError(
            name,
            'is a development default from the source; set a secret of your own when NODE_ENV=production',
          ),
        );
      });
    }
  }

  it('refuses a connect-token secret shorter than 32 characters', () => {
    expect(() => loadWebConfig({ ...production, CONNECT_TOKEN_SECRET: 'short-secret' })).toThrow(
      'Invalid environment variable CONNECT_TOKEN_SECRET: must be at least 32 characters',
    );
  });

  it('starts with secrets of its own', () => {
    const config = loadWebConfig(production);
    expect(config.internalToken).toBe(own.INTERNAL_TOKEN);
    expect(config.sessionSecret).toBe(own.SESSION_SECRET);
    expect(config.connectTokenSecret).toBe(own.CONNECT_TOKEN_SECRET);
  });
});

describe('outside production', () => {
  it('a local stack runs on the development defaults', () => {
    const config = loadWebConfig({});
    expect(config.internalToken).toBe(DEV_INTERNAL_TOKEN);
    expect(config.sessionSecret).toBe(DEV_SESSION_SECRET);
    expect(config.connectTokenSecret).toBe(DEV_CONNECT_TOKEN_SECRET);
  });

  it('the shared rule is the same for every tier', () => {
    expect(resolveSecret('X', undefined, 'development', 'fallback')).toBe('fallback');
    expect(resolveSecret('X', 'mine', 'test', 'fallback')).toBe('mine');
    expect(() => resolveSecret('X', DEV_CONNECT_TOKEN_SECRET, 'production', DEV_CONNECT_TOKEN_SECRET)).toThrow(
      'Invalid environment variable X: is a development default',
    );
  });
});

describe('origins', () => {
  it('WEB_ORIGINS, HLS_ORIGINS and FRAME_ANCESTORS are origins, paths dropped', () => {
    const config = loadWebConfig({
      WEB_ORIGINS: 'https://ovation.example/, https://www.ovation.example:8443/x',
      HLS_ORIGINS: 'https://cdn.example/live/',
      FRAME_ANCESTORS: 'https://partner.example',
    });
    expect(config.webOrigins).toEqual(['https://ovation.example', 'https://www.ovation.example:8443']);
    expect(config.hlsOrigins).toEqual(['https://cdn.example']);
    expect(config.frameAncestors).toEqual(['https://partner.example']);
    expect(loadWebConfig({}).webOrigins).toBeUndefined();
    expect(() => loadWebConfig({ WEB_ORIGINS: 'javascript:alert(1)' })).toThrow('WEB_ORIGINS');
  });
});

describe('secrets and limits that cannot work together', () => {
  it('refuses one secret in two roles (a session key that signs connection tokens, or the reverse)', () => {
    expect(() => loadWebConfig({ ...production, CONNECT_TOKEN_SECRET: own.SESSION_SECRET })).toThrow(/must all differ/);
    expect(() => loadWebConfig({ ...production, INTERNAL_TOKEN: own.CONNECT_TOKEN_SECRET })).toThrow(/must all differ/);
  });

  it('refuses LIKES_PER_SECOND below MAX_LIKE_BATCH (a full batch would always be refused)', () => {
    expect(() => loadWebConfig({ LIKES_PER_SECOND: '10' })).toThrow(/LIKES_PER_SECOND: must be at least 20/);
    expect(loadWebConfig({ LIKES_PER_SECOND: '20' }).likesPerSecond).toBe(20);
  });
});
