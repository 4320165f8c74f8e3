import { ConfigError } from '@ovation/shared';
import { describe, expect, it } from 'vitest';
import { ClusterPeers } from '../src/cluster/peers.js';
import { loadRealtimeConfig } from '../src/config.js';

describe('WORKERS configuration', () => {
  it('is one process by default: no worker index, the node id as given', () => {
    const config = loadRealtimeConfig({ NODE_ID: 'm1', REALTIME_WORKER_INDEX: '3' });
    expect(config.workers).toBe(1);
    expect(config.workerIndex).toBeUndefined();
    expect(config.nodeId).toBe('m1');
  });

  it('names a worker node <NODE_ID>-<index>', () => {
    const config = loadRealtimeConfig({ NODE_ID: 'm1', WORKERS: '4', REALTIME_WORKER_INDEX: '3' });
    expect(config).toMatchObject({ workers: 4, workerIndex: 3, baseNodeId: 'm1', nodeId: 'm1-3' });
  });

  it('refuses a worker count or internal port range that cannot be', () => {
    expect(() => loadRealtimeConfig({ WORKERS: '0' })).toThrow(/WORKERS/);
    expect(() => loadRealtimeConfig({ WORKERS: '65' })).toThrow(/WORKERS/);
    expect(() => loadRealtimeConfig({ WORKERS: '4', INTERNAL_PORT: '65534' })).toThrow(ConfigError);
    expect(() => loadRealtimeConfig({ WORKERS: '4', INTERNAL_PORT: '65532' })).not.toThrow();
  });

  it('reads the owning worker from a connection id, and nothing from an id without one', () => {
    expect(ClusterPeers.ownerOf(`${ClusterPeers.idPrefix(12)}abc`)).toBe(12);
    expect(ClusterPeers.ownerOf('abc123')).toBeUndefined();
    expect(ClusterPeers.ownerOf('123-abc')).toBeUndefined();
  });
});
