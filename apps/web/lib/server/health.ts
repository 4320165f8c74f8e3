import type { THealth } from '@ovation/shared';
import { context } from './context';

/** The store's PING gets this long (it fails sooner when Redis is known to be down). */
const REDIS_PING_TIMEOUT_MS = 500;

/**
 * The web tier is ready when what its writes need answers: the product store (in Redis mode a
 * PING of the server, or of every master of a cluster) and the dispatcher tier (any of DISPATCHER_URLS answering /healthz). Checked in
 * parallel, each bounded, so a health probe never hangs on a paused dependency.
 */
export async function health(): Promise<THealth> {
  const { config, store, dispatcher } = context();
  const [redis, dispatcherCheck] = await Promise.all([
    config.redis ? ping(() => store.ping()) : Promise.resolve({ ok: true, detail: 'not used (in-memory store)' }),
    dispatcher.health(),
  ]);
  return { status: redis.ok && dispatcherCheck.ok ? 'ok' : 'degraded', checks: { redis, dispatcher: dispatcherCheck } };
}

async function ping(call: () => Promise<void>): Promise<{ ok: boolean; detail?: string }> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => resolve('timeout'), REDIS_PING_TIMEOUT_MS);
  });
  try {
    const outcome = await Promise.race([call(), timeout]);
    return outcome === 'timeout'
      ? { ok: false, detail: `PING: no answer within ${REDIS_PING_TIMEOUT_MS} ms` }
      : { ok: true };
  } catch (error) {
    // ioredis's own messages may name the server's address; the web's /healthz is public.
    const cause = error instanceof Error && error.cause instanceof Error ? error.cause.message : '';
    return { ok: false, detail: /timed out/i.test(cause) ? 'PING: no answer in time' : 'PING failed: not connected' };
  } finally {
    clearTimeout(timer);
  }
}
