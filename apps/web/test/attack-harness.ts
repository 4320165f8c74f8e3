import { loadWebConfig } from '../lib/server/config';
import { context, createContext, setContext } from '../lib/server/context';
import { startServices, TOKEN } from './route-helpers';

/*
 * The product API as tests/security/quotas.test.ts attacks it: the route handlers, helpers and
 * limits, loaded by that file at run time (apps/web is type-checked by its own tsconfig, whose
 * bundler-style imports the root one cannot follow).
 */

export * as session from '../app/api/session/route';
export * as oneBan from '../app/api/videos/[id]/bans/[userId]/route';
export * as bans from '../app/api/videos/[id]/bans/route';
export * as oneComment from '../app/api/videos/[id]/comments/[commentId]/route';
export * as comments from '../app/api/videos/[id]/comments/route';
export * as end from '../app/api/videos/[id]/end/route';
export * as likes from '../app/api/videos/[id]/likes/route';
export * as start from '../app/api/videos/[id]/start/route';
export * as stats from '../app/api/videos/[id]/stats/route';
export * as videos from '../app/api/videos/route';
export { CLIENT_ADDRESS_HEADER } from '../lib/server/client-address';
export { ADDRESS_BURST_SECONDS, ADDRESS_FACTOR, DEFAULT_BUDGETS } from '../lib/server/rate-limit';
export { expectError, params, req, signUp } from './route-helpers';

/** Starts a dispatcher and node, points the web context at them; returns the teardown. */
export async function startWeb(env: Record<string, string>): Promise<() => Promise<void>> {
  const services = await startServices();
  setContext(createContext(loadWebConfig({ INTERNAL_TOKEN: TOKEN, DISPATCHER_URLS: services.dispatcherUrl, ...env })));
  return async () => {
    setContext(undefined);
    await services.close();
  };
}

export const store = () => context().store;
