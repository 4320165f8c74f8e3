/** A private Redis Cluster for one test file (3 masters + 3 replicas on free ports): see LocalRedisCluster. */
export { LocalRedisCluster as TestRedisCluster } from '@ovation/shared/local-redis-cluster';
