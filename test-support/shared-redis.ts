import { type RedisClient, redisReady } from '@ovation/shared/redis';
import { Redis } from 'ioredis';
import { afterAll, beforeAll } from 'vitest';
import { waitFor } from './poll.js';
import { TestRedisCluster } from './redis-cluster.js';
import { TestRedis } from './redis-server.js';

/**
 * For a contract test file: a private redis-server started before its tests and stopped after,
 * one client, and a fresh key prefix per call so tests never see each other's keys. With
 * `cluster`, a private Redis Cluster (3 masters, 3 replicas) as well, and a client of it.
 */
export function redisForThisFile(
  name: string,
  options: { cluster?: boolean } = {},
): { client(): Redis; clusterClient(): RedisClient; cluster(): TestRedisCluster; prefix(): string } {
  let server: TestRedis | undefined;
  let redis: Redis | undefined;
  let cluster: TestRedisCluster | undefined;
  let clusterClient: RedisClient | undefined;
  let counter = 0;
  beforeAll(async () => {
    [server, cluster] = await Promise.all([
      TestRedis.start(),
      options.cluster ? TestRedisCluster.start() : Promise.resolve(undefined),
    ]);
    redis = new Redis(server.url);
    if (cluster) {
      const client = cluster.client();
      clusterClient = client;
      await waitFor('the cluster client to reach every master', () => redisReady(client), { timeoutMs: 20_000 });
    }
  });
  afterAll(async () => {
    redis?.disconnect();
    clusterClient?.disconnect();
    await Promise.all([server?.stop(), cluster?.stop()]);
  });
  return {
    client: () => {
      if (!redis) throw new Error('redisForThisFile: the client exists once beforeAll has run');
      return redis;
    },
    clusterClient: () => {
      if (!clusterClient)
        throw new Error('redisForThisFile: ask for { cluster: true }; the client exists once beforeAll has run');
      return clusterClient;
    },
    cluster: () => {
      if (!cluster) throw new Error('redisForThisFile: ask for { cluster: true }');
      return cluster;
    },
    prefix: () => `${name}-${process.pid}-${++counter}`,
  };
}
