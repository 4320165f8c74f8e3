/** What global-setup started (scripts/topology.mjs). */
export interface TopologyInfo {
  token: string;
  regions: Array<{ name: string; dispatchers: string[]; nodes: string[] }>;
  realtimeUrls: string[];
  /** The ingest's RTMP URL (encoders push to <rtmpUrl>/<stream key>); undefined without ffmpeg. */
  rtmpUrl?: string;
  services: Array<{ name: string; url?: string }>;
  control: string;
}

export const topology: TopologyInfo = JSON.parse(process.env.OVATION_TOPOLOGY ?? '{}') as TopologyInfo;

/** Index (in the web app's realtime URLs) of a region's node: `?node=` of the viewer page. */
export function nodeIndex(region: string, node: number): number {
  const url = topology.regions.find((r) => r.name === region)?.nodes[node - 1];
  const index = topology.realtimeUrls.indexOf(url ?? '');
  if (index === -1) throw new Error(`no node ${node} in region ${region}`);
  return index;
}

/** The region a realtime node (by its index in the realtime URLs) belongs to. */
export function regionOf(index: number): string | undefined {
  const url = topology.realtimeUrls[index];
  return topology.regions.find((r) => url !== undefined && r.nodes.includes(url))?.name;
}

/** Kills or restarts a service of the topology (the global setup's control endpoint). */
export async function control(action: 'kill' | 'restart', name: string): Promise<void> {
  const response = await fetch(`${topology.control}/${action}/${name}`, {
    method: 'POST',
    signal: AbortSignal.timeout(90_000),
  });
  if (response.status !== 204) throw new Error(`${action} ${name}: ${response.status} ${await response.text()}`);
}

/**
 * Open SSE connections over every realtime node: the sum of their `realtime_connections` gauges
 * (GET /metrics, with the internal token).
 */
export async function realtimeConnections(): Promise<number> {
  const counts = await Promise.all(
    topology.realtimeUrls.map(async (url) => {
      const response = await fetch(`${url}/metrics`, {
        headers: { authorization: `Bearer ${topology.token}` },
        signal: AbortSignal.timeout(5_000),
      });
      if (!response.ok) throw new Error(`${url}/metrics: ${response.status}`);
      const line = (await response.text()).split('\n').find((l) => l.startsWith('realtime_connections '));
      return Number(line?.split(' ')[1] ?? Number.NaN);
    }),
  );
  return counts.reduce((sum, n) => sum + n, 0);
}
