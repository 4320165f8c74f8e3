import { Redis } from 'ioredis';
import { afterAll, beforeAll } from 'vitest';
import { TestRedis } from './redis-server.js';

/**
 * For a contract test file: a private redis-server started before its tests and stopped after,
 * one client, and a fresh key prefix per call so tests never see each other's keys.
 */
export function redisForThisFile(name: string): { client(): Redis; prefix(): string } {
  let server: TestRedis | undefined;
  let redis: Redis | undefined;
  let counter = 0;
  beforeAll(async () => {
    server = await TestRedis.start();
    redis = new Redis(server.url);
  });
  afterAll(async () => {
    redis?.disconnect();
    await server?.stop();
  });
  return {
    client: () => {
      if (!redis) throw new Error('redisForThisFile: the client exists once beforeAll has run');
      return redis;
    },
    prefix: () => `${name}-${process.pid}-${++counter}`,
  };
}
