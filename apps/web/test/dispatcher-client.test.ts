import { freePort } from '@ovation/shared/server';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp as buildDispatcher } from '../../dispatcher/src/app.js';
import { loadDispatcherConfig } from '../../dispatcher/src/config.js';
import { DispatcherClient } from '../lib/server/dispatcher';

/* The web tier publishes through any dispatcher of DISPATCHER_URLS: a dead one costs one attempt. */

const TOKEN = 'web-dispatcher-client-token';
let dispatcher: FastifyInstance;
let live: string;
let dead: string;

beforeAll(async () => {
  dispatcher = await buildDispatcher(loadDispatcherConfig({ INTERNAL_TOKEN: TOKEN, LOG_LEVEL: 'silent' }));
  live = await dispatcher.listen({ host: '127.0.0.1', port: 0 });
  dead = `http://127.0.0.1:${await freePort()}`; // nothing listens there
});

afterAll(async () => {
  await dispatcher?.close();
});

describe('web DispatcherClient', () => {
  it('publishes through the next dispatcher when the first is down, and stays on it', async () => {
    const client = new DispatcherClient([dead, live], TOKEN);
    const first = await client.publish([{ topic: 'video:w', type: 'comment', data: { n: 1 } }]);
    const second = await client.publish([{ topic: 'video:w', type: 'comment', data: { n: 2 } }]);
    expect(first).toHaveLength(1);
    expect(second).toHaveLength(1);
    expect(first[0]).not.toBe(second[0]);
  });

  it('answers UNAVAILABLE when no dispatcher accepts', async () => {
    const client = new DispatcherClient([dead], TOKEN);
    await expect(client.publish([{ topic: 'video:w', type: 'comment', data: {} }])).rejects.toMatchObject({
      code: 'UNAVAILABLE',
    });
  });
});
