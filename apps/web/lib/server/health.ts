import type { THealth } from '@ovation/shared';
import { context } from './context';

/** The store's PING gets this long (it fails sooner when Redis is known to be down). */
const REDIS_PING_TIMEOUT_MS = 500;

/**
 * The web tier is ready when what its writes need answers: the product store (Redis PING, in
 * Redis mode) and the dispatcher tier (any of DISPATCHER_URLS answering /healthz). Checked in
 * parallel, each bounded, so a health probe never hangs on a paused dependency.
 */
export async function health(): Promise<THealth> {
  const { config, store, dispatcher } = context();
  const [redis, dispatcherCheck] = await Promise.all([
    config.redisUrl ? ping(() => store.ping()) : Promise.resolve({ ok: true, detail: 'not used (in-memory store)' }),
    dispatcher.health(),
  ]);
  return { status: redis.ok && dispatcherCheck.ok ? 'ok' : 'degraded', checks: { redis, dispatcher: dispatcherCheck } };
}

async function ping(call: () => Promise<void>): Promise<{ ok: boolean; detail?: string }> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${REDIS_PING_TIMEOUT_MS} ms`)), REDIS_PING_TIMEOUT_MS);
  });
  try {
    await Promise.race([call(), timeout]);
    return { ok: true };
  } catch (error) {
    const cause = error instanceof Error && error.cause instanceof Error ? error.cause : error;
    return { ok: false, detail: `PING failed: ${cause instanceof Error ? cause.message : String(cause)}` };
  } finally {
    clearTimeout(timer);
  }
}
